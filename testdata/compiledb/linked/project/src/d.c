#include <foo/check.h>

int (*const d_checker)(const int *, int) = foo_check;
