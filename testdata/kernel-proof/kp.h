/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the test module (kp_target) and the livepatches of the kernel proof
 * (scripts/kernel-proof.sh). The worker kthread of kp_target calls every function of
 * funcs.h in a loop; writing a place to /sys/module/kp_target/parameters/park makes the
 * function of that place park the worker there (in msleep()) until park changes.
 */
#ifndef KP_H
#define KP_H

#include <linux/compiler.h>
#include <linux/delay.h>

enum kp_place {
	KP_NOWHERE,
	KP_COLD_ONE,		/* from cold_one.cold (both builds have the part) */
	KP_COLD_GAINED,		/* the patched cold_gained has a part, the original not */
	KP_COLD_LOST,		/* the original cold_lost has a part, the patched not */
	KP_TAIL_ADDED,		/* the patched tail_added tail-calls an added helper */
	KP_TAIL_REMOVED,	/* the original tail_removed tail-calls a removed helper */
	KP_ELSEWHERE,		/* a cold part of a function no livepatch touches */
	KP_PLACES
};

extern int kp_park;
extern int kp_parked;

/* Being __cold, a call to it makes gcc move its block to the caller's .cold part. */
void kp_note(int place) __cold;

#define KP_PARK(place)							\
	do {								\
		WRITE_ONCE(kp_parked, place);				\
		while (READ_ONCE(kp_park) == (place))			\
			msleep(20);					\
		WRITE_ONCE(kp_parked, 0);				\
	} while (0)

#endif
