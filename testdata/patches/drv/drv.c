#include "drv.h"

extern void drv_log(const char *what, int value) __attribute__((cold));
extern int drv_io(int request);

int drv_read(int x)
{
	int r = drv_io(x);

	if (__builtin_expect(r < 0, 0)) {
		drv_log("drv_read: io failed", r);
		r = drv_io(-r);
	}
	return r + DRV_BIAS;
}

int drv_write(int x)
{
	int r = drv_io(x + 1);

	if (__builtin_expect(r == 0, 0)) {
		drv_log("drv_write: nothing", x);
		return -1;
	}
	return r * 2;
}
