#include <foo/check.h>

/* Unique to this unit: its name is unique in the linked module too. */
static int a_scale(int x)
{
	return x * FOO_WEIGHT + 1;
}

int (*const a_checker)(const int *, int) = foo_check;
int (*const a_scaler)(int) = a_scale;
