#include <proj/common.h>

int core_step(int x)
{
	int r = proj_io(x);

	if (__builtin_expect(r < 0, 0)) {
		proj_log("core_step: io failed", r);
		r = proj_io(-r);
	}
	return proj_clamp(r + CORE_LEVEL);
}

int core_other(int x)
{
	int r = proj_io(x + 1);

	if (__builtin_expect(r == 0, 0)) {
		proj_log("core_other: nothing", x);
		return -1;
	}
	return r * 2;
}
