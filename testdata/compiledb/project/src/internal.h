#ifndef EXTRA_INTERNAL_H
#define EXTRA_INTERNAL_H

#define EXTRA_RETRIES 3

#endif
