/*
 * inline-cold-only: the inlined helper read_checked() puts its error path (report,
 * dev_reset, dev_read again) into read_status.cold, and twice (once per inlined copy)
 * into read_pair.cold. read_status reads port 1; read_pair(1, 2) reads port 1 then 2.
 * The first read of the thread's failing port returns an error.
 */
#include "../harness.h"

int read_status(int port);
int read_pair(int a, int b);

static __thread int reads[3];

static int failing_port(void)
{
	if (harness_is("pair-hot-b") || harness_is("bystander"))
		return 0;
	return harness_is("pair-cold-b") ? 2 : 1;
}

int dev_read(int port)
{
	int n = ++reads[port];

	if (harness_is("status-hot") || harness_is("bystander") || (harness_is("pair-hot-b") && port == 2))
		harness_block("dev_read");
	if (harness_is("pair-cold-retry-a") && n == 2)
		harness_block("dev_read (read again in the error path)");
	return port == failing_port() && n == 1 ? -5 : 0;
}

void dev_reset(int port)
{
	(void)port;
	if (harness_is("status-cold") || harness_is("pair-cold-a") || harness_is("pair-cold-b"))
		harness_block("dev_reset");
}

void report(const char *msg, int v)
{
	(void)msg;
	(void)v;
	if (harness_is("status-report"))
		harness_block("report");
}

static void run_status(void)
{
	read_status(1);
}

static void run_pair(void)
{
	read_pair(1, 2);
}

/* Not in the patched code: reads a port itself. */
static void run_bystander(void)
{
	dev_read(1);
}

const struct harness_thread harness_threads[] = {
	{ "status-hot", run_status },
	{ "status-report", run_status },
	{ "status-cold", run_status },
	{ "pair-hot-b", run_pair },
	{ "pair-cold-a", run_pair },
	{ "pair-cold-b", run_pair },
	{ "pair-cold-retry-a", run_pair },
	{ "bystander", run_bystander },
	{ 0, 0 },
};
