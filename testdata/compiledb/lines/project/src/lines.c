#include "lines.h"

int lines_changed(int x)
{
	int r = lines_io(x);

	return r + 1;
}

int lines_step(int x)
{
	int r = lines_io(x);

	if (__builtin_expect(r < 0, 0)) {
		lines_report(__LINE__, __FILE__);
		r = lines_io(-r);
	}
	return lines_checked(r) * 2;
}

int lines_again(int x)
{
	int r = lines_io(x + 1);

	if (__builtin_expect(r == 0, 0)) {
		lines_report(__LINE__, __FILE__);
		return -1;
	}
	return lines_checked(r + 3);
}
