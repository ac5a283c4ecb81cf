/* The unit's own directory first: src/internal.h. */
#include "internal.h"

extern void extra_log(const char *what, int value) __attribute__((cold));
extern int extra_io(int request);

int extra_run(int x)
{
	int r = extra_io(x);
	int tries = 0;

	while (__builtin_expect(r < 0, 0) && tries++ < EXTRA_RETRIES) {
		extra_log(KBUILD_BASENAME, r);
		r = extra_io(x);
	}
	return r;
}
