#ifndef PROJ_COMMON_H
#define PROJ_COMMON_H

/* Found next to this header whatever the -I options say (a quoted include). */
#include "bounds.h"

/* Cold: gcc moves the unlikely blocks that call it into a .cold part of the caller. */
extern void proj_log(const char *where, int value) __attribute__((cold));
extern int proj_io(int request);

#define PROJ_SCALE 3

static inline int proj_clamp(int value)
{
	if (__builtin_expect(value > PROJ_MAX, 0)) {
		proj_log(__FILE__, value);
		return PROJ_MAX;
	}
	return value * PROJ_SCALE;
}

#endif
