/*
 * cold-noreturn: advance() reads the state and writes it back; when state_read() fails,
 * advance.cold runs report(), dump_state(id) (and, in the patched code only,
 * dump_state(-1)), then abort(): the part never jumps back. current() is unchanged.
 */
#include "../harness.h"

int advance(int id);
int current(int id);

static __thread int dumps;

int state_read(int id)
{
	(void)id;
	if (harness_is("hot-read") || harness_is("bystander"))
		harness_block("state_read");
	return harness_is("hot-write") ? 1 : -1;
}

void state_write(int id, int s)
{
	(void)id;
	(void)s;
	harness_block("state_write");
}

void report(const char *msg, int s)
{
	(void)msg;
	(void)s;
	if (harness_is("cold-report"))
		harness_block("report");
}

void dump_state(int id)
{
	(void)id;
	dumps++;
	if (harness_is("cold-dump") && dumps == 1)
		harness_block("dump_state(id)");
	if (harness_is("cold-dump-again") && dumps == 2)
		harness_block("dump_state(-1)");
	/* Every thread blocks before abort(). */
	if (dumps == 2 || !HARNESS_PATCHED)
		harness_block("dump_state (last before abort)");
}

static void run_advance(void)
{
	advance(3);
}

static void run_current(void)
{
	current(3);
}

const struct harness_thread harness_threads[] = {
	{ "hot-read", run_advance },
	{ "hot-write", run_advance },
	{ "cold-report", run_advance },
	{ "cold-dump", run_advance },
#if HARNESS_PATCHED
	{ "cold-dump-again", run_advance },
#endif
	{ "bystander", run_current },
	{ 0, 0 },
};
