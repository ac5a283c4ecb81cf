// SPDX-License-Identifier: GPL-2.0
/*
 * The livepatch of livepatch-blind.c, with the part covered: a klp_func of its own for
 * state_mt_check.cold, the part Debian's gcc split off state_mt_check. (The proposed
 * stack_only field would be the right way; Debian's headers do not have it.) `stackonly
 * audit` must find nothing left uncovered.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/livepatch.h>
#include <net/netfilter/nf_conntrack.h>
#include <linux/netfilter/x_tables.h>

/* The replacement: no message when the conntrack support cannot be loaded. */
static int livepatch_state_mt_check(const struct xt_mtchk_param *par)
{
	return nf_ct_netns_get(par->net, par->family);
}

/*
 * The klp_func that names the part needs a new_func. A kernel would refuse to load it (a
 * part has no ftrace location to patch); what it shows is what audit counts as covered.
 */
static void livepatch_state_mt_check_cold(void)
{
}

static struct klp_func funcs[] = {
	{
		.old_name = "state_mt_check",
		.new_func = livepatch_state_mt_check,
	}, {
		.old_name = "state_mt_check.cold",
		.new_func = livepatch_state_mt_check_cold,
	}, { }
};

static struct klp_object objs[] = {
	{
		.name = "xt_state",
		.funcs = funcs,
	}, { }
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
};

static int livepatch_init(void)
{
	return klp_enable_patch(&patch);
}

static void livepatch_exit(void)
{
}

module_init(livepatch_init);
module_exit(livepatch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
