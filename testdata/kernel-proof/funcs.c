// SPDX-License-Identifier: GPL-2.0
/* kp_target's functions as the running kernel has them (original) or patched. */
#define FN(name) name
#include "funcs.h"
