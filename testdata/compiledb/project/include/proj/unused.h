#ifndef PROJ_UNUSED_H
#define PROJ_UNUSED_H

/* Included by no unit. */
#define PROJ_UNUSED 1

#endif
