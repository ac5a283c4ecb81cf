/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The functions the livepatches change, one per case. FN(name) names them: the
 * function itself in kp_target (funcs.c, funcs_patched.c), livepatch_<name> in a
 * livepatch module (lp_funcs.c). KP_PATCHED selects the patched version; each version
 * returns its own number (1 original, KP_LP_VERSION patched), which the worker records.
 */
#include "kp.h"

#ifdef KP_PATCHED
#ifndef KP_LP_VERSION
#define KP_LP_VERSION 2
#endif
#define KP_V KP_LP_VERSION
#else
#define KP_V 1
#endif

/* One-to-one: both versions park in a call made from their .cold part. */
int FN(cold_one)(int x)
{
	if (unlikely(READ_ONCE(kp_park) == KP_COLD_ONE)) {
		kp_note(KP_COLD_ONE);
		KP_PARK(KP_COLD_ONE);
	}
	return x + KP_V;
}

/* Gained: the original parks in its own body, the patched version in its .cold part. */
int FN(cold_gained)(int x)
{
#ifdef KP_PATCHED
	if (unlikely(READ_ONCE(kp_park) == KP_COLD_GAINED)) {
		kp_note(KP_COLD_GAINED);
		KP_PARK(KP_COLD_GAINED);
	}
#else
	if (READ_ONCE(kp_park) == KP_COLD_GAINED)
		KP_PARK(KP_COLD_GAINED);
#endif
	return x + KP_V;
}

/* Lost: the original parks in its .cold part, the patched version in its own body. */
int FN(cold_lost)(int x)
{
#ifdef KP_PATCHED
	if (READ_ONCE(kp_park) == KP_COLD_LOST)
		KP_PARK(KP_COLD_LOST);
#else
	if (unlikely(READ_ONCE(kp_park) == KP_COLD_LOST)) {
		kp_note(KP_COLD_LOST);
		KP_PARK(KP_COLD_LOST);
	}
#endif
	return x + KP_V;
}

/* Tail call added: the patched version tail-calls a helper only it has, which parks. */
#ifdef KP_PATCHED
noinline int FN(tail_added_helper)(int x)
{
	KP_PARK(KP_TAIL_ADDED);
	return x + KP_V;
}
#endif

int FN(tail_added)(int x)
{
	if (READ_ONCE(kp_park) == KP_TAIL_ADDED) {
#ifdef KP_PATCHED
		return FN(tail_added_helper)(x);
#else
		KP_PARK(KP_TAIL_ADDED);
#endif
	}
	return x + KP_V;
}

/* Tail call removed: the original tail-calls a helper only it has, which parks. */
#ifndef KP_PATCHED
noinline int FN(tail_removed_helper)(int x)
{
	KP_PARK(KP_TAIL_REMOVED);
	return x + KP_V;
}
#endif

int FN(tail_removed)(int x)
{
	if (READ_ONCE(kp_park) == KP_TAIL_REMOVED) {
#ifndef KP_PATCHED
		return FN(tail_removed_helper)(x);
#else
		KP_PARK(KP_TAIL_REMOVED);
#endif
	}
	return x + KP_V;
}
