/*
 * upstream-example: parent_func() calls child_func(); child_func() calls do_io() and, when
 * it fails, runs its error path in child_func.cold (log_err, do_io(-1), log_err, do_io(x)).
 * Each thread's first do_io() fails except for "hot"; then each blocks at its own call.
 */
#include "../harness.h"

int parent_func(int x);

static __thread int io_calls, err_calls;

int do_io(int x)
{
	io_calls++;
	if (harness_is("hot") || harness_is("bystander"))
		harness_block("do_io (first call)");
	if (harness_is("cold-io") && io_calls == 2)
		harness_block("do_io(-1) in the error path");
	if (harness_is("cold-retry") && io_calls == 3)
		harness_block("do_io(x) retried in the error path");
	return io_calls == 1 ? -5 : x;
}

void log_err(const char *msg)
{
	(void)msg;
	err_calls++;
	if (harness_is("cold-log") && err_calls == 1)
		harness_block("log_err (first call)");
}

static void run_parent(void)
{
	parent_func(7);
}

/* Not in the patched code: calls do_io itself. */
static void run_bystander(void)
{
	do_io(7);
}

const struct harness_thread harness_threads[] = {
	{ "hot", run_parent },
	{ "cold-log", run_parent },
	{ "cold-io", run_parent },
	{ "cold-retry", run_parent },
	{ "bystander", run_bystander },
	{ 0, 0 },
};
