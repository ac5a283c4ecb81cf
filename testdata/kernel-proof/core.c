// SPDX-License-Identifier: GPL-2.0
/*
 * kp_target: a worker kthread calls each function of funcs.h in a loop. Writing a place
 * (enum kp_place) to the parameter "park" parks the worker in the function of that
 * place (msleep() in a loop) until "park" changes; "parked" tells where it is parked,
 * "versions" which version of each function ran last (1 original, 2+ a livepatch's).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include "kp.h"

int cold_one(int x);
int cold_gained(int x);
int cold_lost(int x);
int tail_added(int x);
int tail_removed(int x);

int kp_park;
EXPORT_SYMBOL_GPL(kp_park);
module_param_named(park, kp_park, int, 0644);
MODULE_PARM_DESC(park, "where the worker parks (enum kp_place), 0: nowhere");

int kp_parked;
EXPORT_SYMBOL_GPL(kp_parked);
module_param_named(parked, kp_parked, int, 0444);
MODULE_PARM_DESC(parked, "where the worker is parked now");

static int versions[KP_PLACES];
static int nr_versions = KP_PLACES;
module_param_array(versions, int, &nr_versions, 0444);
MODULE_PARM_DESC(versions, "version of each function that ran last, by place");

static struct task_struct *worker;

void kp_note(int place)
{
	pr_info("parking at place %d\n", place);
}
EXPORT_SYMBOL_GPL(kp_note);

/* A function with a .cold part that no livepatch touches: parking here holds nothing. */
static noinline int kp_elsewhere(int x)
{
	if (unlikely(READ_ONCE(kp_park) == KP_ELSEWHERE)) {
		kp_note(KP_ELSEWHERE);
		KP_PARK(KP_ELSEWHERE);
	}
	return x + 1;
}

static int kp_worker(void *data)
{
	while (!kthread_should_stop()) {
		WRITE_ONCE(versions[KP_COLD_ONE], cold_one(0));
		WRITE_ONCE(versions[KP_COLD_GAINED], cold_gained(0));
		WRITE_ONCE(versions[KP_COLD_LOST], cold_lost(0));
		WRITE_ONCE(versions[KP_TAIL_ADDED], tail_added(0));
		WRITE_ONCE(versions[KP_TAIL_REMOVED], tail_removed(0));
		WRITE_ONCE(versions[KP_ELSEWHERE], kp_elsewhere(0));
		msleep(20);
	}
	return 0;
}

static int __init kp_init(void)
{
	worker = kthread_run(kp_worker, NULL, "kp_worker");
	return PTR_ERR_OR_ZERO(worker);
}

static void __exit kp_exit(void)
{
	WRITE_ONCE(kp_park, 0);
	kthread_stop(worker);
}

module_init(kp_init);
module_exit(kp_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("stackonly kernel proof: a task that parks in chosen code");
