/*
 * tail-call-from-part: sample() reads a channel; when hw_read() fails, sample.cold runs
 * report() and hw_reset(), then returns -5 (original) or tail-calls the new
 * sample_retry() (patched), which calls hw_read_slow(). After that tail call, sample's
 * frame is gone.
 */
#include "../harness.h"

int sample(int ch);

int hw_read(int ch)
{
	(void)ch;
	if (harness_is("hot"))
		harness_block("hw_read");
	return -1;
}

void report(const char *msg, int v)
{
	(void)msg;
	(void)v;
	if (harness_is("cold-report"))
		harness_block("report");
}

void hw_reset(int ch)
{
	(void)ch;
	if (harness_is("cold-reset"))
		harness_block("hw_reset");
}

int hw_read_slow(int ch, int timeout)
{
	(void)ch;
	(void)timeout;
	harness_block("hw_read_slow");
	return 0;
}

static void run_sample(void)
{
	sample(4);
}

const struct harness_thread harness_threads[] = {
	{ "hot", run_sample },
	{ "cold-report", run_sample },
	{ "cold-reset", run_sample },
	/* Original: sample returns -5 and the thread blocks at "returned". */
	{ "retry", run_sample },
	{ 0, 0 },
};
