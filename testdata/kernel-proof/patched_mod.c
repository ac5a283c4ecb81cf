// SPDX-License-Identifier: GPL-2.0
/* kp_patched: a module only so that kbuild compiles funcs_patched.o; never loaded. */
#include <linux/module.h>
MODULE_LICENSE("GPL");
