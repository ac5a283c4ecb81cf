/*
 * tail-call-removed: the original dispatch() calls legacy_prepare() (dev_state) and
 * tail-calls legacy_submit() (legacy_io, and an error path in legacy_submit.cold:
 * report, flush, legacy_io again); both helpers are gone in the patched code, where
 * dispatch() tail-calls modern_io(). device_ready() is unchanged.
 */
#include "../harness.h"

int dispatch(int dev, int cmd);
int device_ready(int dev);

static __thread int ios;

int dev_state(int dev)
{
	(void)dev;
	if (harness_is("prepare") || harness_is("bystander"))
		harness_block("dev_state");
	return 1;
}

int legacy_io(int cmd)
{
	(void)cmd;
	ios++;
	if (harness_is("submit-hot"))
		harness_block("legacy_io");
	if (harness_is("submit-retry") && ios == 2)
		harness_block("legacy_io (again in the error path)");
	/* The first call fails: legacy_submit takes its error path. */
	return ios == 1 ? -1 : 0;
}

void report(const char *msg, int cmd)
{
	(void)msg;
	(void)cmd;
	if (harness_is("submit-report"))
		harness_block("report");
}

void flush(int dev)
{
	(void)dev;
	if (harness_is("submit-flush"))
		harness_block("flush");
}

/* Every thread that gets this far blocks here (the patched dispatch tail-calls it). */
int modern_io(int req)
{
	(void)req;
	harness_block("modern_io");
	return 0;
}

static void run_dispatch(void)
{
	dispatch(1, 2);
}

static void run_device_ready(void)
{
	device_ready(1);
}

const struct harness_thread harness_threads[] = {
	{ "prepare", run_dispatch },
	{ "submit-hot", run_dispatch },
	{ "submit-report", run_dispatch },
	{ "submit-flush", run_dispatch },
	{ "submit-retry", run_dispatch },
	{ "bystander", run_device_ready },
	{ 0, 0 },
};
