/* The livepatch module's unit: the patched functions, renamed livepatch_*. */
#define child livepatch_child
#define retry livepatch_retry
#define other livepatch_other
#include "patched.c"
