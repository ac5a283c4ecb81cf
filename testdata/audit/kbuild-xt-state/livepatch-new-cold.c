// SPDX-License-Identifier: GPL-2.0
/*
 * A livepatch for xt_state's state_mt_check() whose replacement keeps a message on its
 * error path, with other words: gcc splits the replacement as it split the original, into
 * livepatch_state_mt_check and livepatch_state_mt_check.cold. The patch covers the
 * original's part with a klp_func of its own (as livepatch-covered.c does), so the enable
 * direction is clean; the new part, in this module, is checked by nothing when the patch is
 * disabled (Debian's headers have no stack_only field to name it): `stackonly audit` must
 * name it as the disable direction's blind spot.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/livepatch.h>
#include <net/netfilter/nf_conntrack.h>
#include <linux/netfilter/x_tables.h>

static int livepatch_state_mt_check(const struct xt_mtchk_param *par)
{
	int ret;

	ret = nf_ct_netns_get(par->net, par->family);
	if (ret < 0)
		pr_info_ratelimited("livepatch: no conntrack support for proto=%u (%d)\n",
				    par->family, ret);
	return ret;
}

/* As in livepatch-covered.c: what audit counts as covering the original's part. */
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
