// SPDX-License-Identifier: GPL-2.0
/* The patched build of funcs.c, compiled with kp_target's flags: the tool's "patched" object. */
#define KP_PATCHED
#include "funcs.c"
