/*
 * __LINE__ passed to calls, next to a plain constant that the patch changes by the same
 * amount the lines move. The patch adds one line near the top (every __LINE__ below moves
 * by 1) and changes logoff's state from 4 to 5: only logoff is a change.
 */
struct conn;
/* One line added here moves every __LINE__ below by 1. */
extern void set_state(struct conn *c, int state);
extern void report(const char *fn, int line);
extern void trace_line(int line);

void logoff(struct conn *c)
{
	set_state(c, 5);
}

int warn_twice(int x)
{
	if (x < 0)
		report(__func__, __LINE__);
	if (x > 1000)
		report(__func__, __LINE__);
	return x + 1;
}

int warn_once(int x)
{
	if (x == 42)
		trace_line(__LINE__);
	return x * 3;
}

int warn_twice_again(int x)
{
	if (x & 1)
		report(__func__, __LINE__);
	if (x & 2)
		report(__func__, __LINE__);
	return x - 1;
}
