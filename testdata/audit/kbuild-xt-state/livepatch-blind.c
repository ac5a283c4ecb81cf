// SPDX-License-Identifier: GPL-2.0
/*
 * A livepatch for xt_state's state_mt_check() (Debian 6.1), built like the kernel's
 * samples/livepatch/livepatch-sample.c. Debian's gcc split the original function:
 * state_mt_check jumps into state_mt_check.cold (the pr_info_ratelimited() path), and this
 * patch gives that part no klp_func of its own: `stackonly audit` must name it.
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

static struct klp_func funcs[] = {
	{
		.old_name = "state_mt_check",
		.new_func = livepatch_state_mt_check,
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
