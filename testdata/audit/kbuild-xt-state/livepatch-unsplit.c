// SPDX-License-Identifier: GPL-2.0
/*
 * A livepatch for xt_state's state_mt_destroy() (Debian 6.1), built like the kernel's
 * samples/livepatch/livepatch-sample.c. Debian's gcc did not split that function (no
 * state_mt_destroy.cold, no tail call to a part of another): the stack check sees all its
 * code, and `stackonly audit` finds no blind spot.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/livepatch.h>
#include <net/netfilter/nf_conntrack.h>
#include <linux/netfilter/x_tables.h>

/* The replacement: the same release of the conntrack support. */
static void livepatch_state_mt_destroy(const struct xt_mtdtor_param *par)
{
	nf_ct_netns_put(par->net, par->family);
}

static struct klp_func funcs[] = {
	{
		.old_name = "state_mt_destroy",
		.new_func = livepatch_state_mt_destroy,
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
