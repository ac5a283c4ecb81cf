/*
 * tail-call-added: the original handle_req() tail-calls submit(). The patched one
 * tail-calls the new validate_req() (lookup, and an error path in validate_req.cold:
 * report, drop, lookup(0)), which tail-calls the new commit_req() (next_seq, then a
 * tail call to submit). After a tail call the caller's frame is gone: a thread blocked
 * under validate_req or commit_req has no handle_req frame on its stack.
 */
#include "../harness.h"

int handle_req(int req);
int queue_empty(void);

static __thread int lookups;

/* The threads whose first lookup() fails, taking validate_req's error path. */
static int lookup_fails(void)
{
	return harness_is("cold-report") || harness_is("cold-drop") || harness_is("cold-lookup");
}

int lookup(int req)
{
	(void)req;
	lookups++;
	if (harness_is("lookup"))
		harness_block("lookup");
	if (harness_is("cold-lookup") && lookups == 2)
		harness_block("lookup(0) in the error path");
	return lookups == 1 && lookup_fails() ? -1 : 2;
}

void report(const char *msg, int req)
{
	(void)msg;
	(void)req;
	if (harness_is("cold-report"))
		harness_block("report");
}

void drop(int req)
{
	(void)req;
	if (harness_is("cold-drop"))
		harness_block("drop");
}

int next_seq(int slot)
{
	(void)slot;
	if (harness_is("next-seq"))
		harness_block("next_seq");
	return 1;
}

/* Every thread that gets this far blocks here. */
int submit(int req)
{
	(void)req;
	harness_block("submit");
	return 0;
}

int queue_len(void)
{
	harness_block("queue_len");
	return 0;
}

static void run_handle(void)
{
	handle_req(5);
}

static void run_queue(void)
{
	queue_empty();
}

const struct harness_thread harness_threads[] = {
	{ "lookup", run_handle },
	{ "cold-report", run_handle },
	{ "cold-drop", run_handle },
	{ "cold-lookup", run_handle },
	{ "next-seq", run_handle },
	{ "submit", run_handle },
	{ "bystander", run_queue },
	{ 0, 0 },
};
