/*
 * Constants passed to calls that differ between the builds, when the patch adds one line
 * near the top (every __LINE__ below moves by 1) and changes logoff's state from 4 to 5,
 * the same amount. A differing constant counts as a line number only on evidence:
 *  - __might_sleep() is a kernel function known to take a line (line_callee);
 *  - log_msg()'s format prints the value as "%s:%d" after __func__ (format);
 *  - report_state()'s constant lies between the proven lines of its own function (span).
 *  - warn_here() passes it to report() right after its own name, __func__, and
 *    trace_here() right before it, as hso's debug macro does (function_name);
 *  - check_all()'s three error paths jump to one shared __might_sleep() call, which the
 *    constant reaches only by following the jumps (line_callee).
 * report() with another string, and trace_line(), are callees nobody can tell take lines:
 * their moved __LINE__ values are reported as changes (reason constant), and so is
 * logoff's 4 -> 5.
 */
struct conn;
extern void set_state(struct conn *c, int state);
extern void report(const char *fn, int line);
extern void trace_line(int line);
extern void __might_sleep(const char *file, int line);
extern void log_msg(const char *fmt, ...);
extern void note(int value);

void logoff(struct conn *c)
{
	set_state(c, 4);
}

int warn_twice(int x)
{
	if (x < 0)
		report("negative", __LINE__);
	if (x > 1000)
		report("too large", __LINE__);
	return x + 1;
}

int warn_here(int x)
{
	if (x < 0)
		report(__func__, __LINE__);
	return x + 1;
}

int trace_here(int x)
{
	if (x > 3)
		log_msg("[%d:%s] over\n", __LINE__, __func__);
	return x - 3;
}

/* Three error paths, one call: each path loads its own __LINE__ and jumps to the call
 * they share (the shape GCC also makes of ocfs2's mlog() calls). */
int check_all(int a, int b, int c)
{
	int line;

	if (a < 0) {
		line = __LINE__;
		goto bad;
	}
	if (b < 0) {
		line = __LINE__;
		goto bad;
	}
	if (c < 0) {
		line = __LINE__;
		goto bad;
	}
	return a + b + c;
bad:
	__might_sleep(__FILE__, line);
	return -1;
}

int warn_once(int x)
{
	if (x == 42)
		trace_line(__LINE__);
	return x * 3;
}

int may_sleep(int x)
{
	__might_sleep(__FILE__, __LINE__);
	return x * 5;
}

int logged(int x)
{
	if (x > 7)
		log_msg("%s:%d: too large\n", __func__, __LINE__);
	return x - 7;
}

int report_state(int x)
{
	__might_sleep(__FILE__, __LINE__);
	if (x > 9)
		note(__LINE__);
	__might_sleep(__FILE__, __LINE__);
	return x;
}
