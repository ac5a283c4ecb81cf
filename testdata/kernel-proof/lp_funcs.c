// SPDX-License-Identifier: GPL-2.0
/* A livepatch module's copies of the patched functions: livepatch_<name>. */
#define FN(name) livepatch_##name
#define KP_PATCHED
#include "funcs.h"
