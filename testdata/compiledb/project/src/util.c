#include "proj/common.h"

int util_scale(int x)
{
	int r = proj_io(x);

	if (__builtin_expect(r < -100, 0)) {
		proj_log("util_scale: io failed", r);
		return 0;
	}
	return proj_clamp(r);
}

const char *util_name(void)
{
	return __FILE__ " (" UTIL_MODE ")";
}
