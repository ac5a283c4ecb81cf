#ifndef PROJ_BOUNDS_H
#define PROJ_BOUNDS_H

#define PROJ_MAX 1000

#endif
