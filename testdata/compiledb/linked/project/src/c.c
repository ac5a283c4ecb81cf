#include <foo/check.h>

int (*const c_checker)(const int *, int) = foo_check;
