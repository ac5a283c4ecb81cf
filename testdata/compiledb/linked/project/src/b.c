#include <foo/check.h>

int (*const b_checker)(const int *, int) = foo_check;
