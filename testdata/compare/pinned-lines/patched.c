/*
 * A patch that adds a line above settle() and changes the number settle() passes to
 * __might_sleep from 40 to 41: the same amount as every later line moved, at the line
 * parameter of a function known to take one. Between objects built elsewhere that is
 * evidence of a moved __LINE__ (line_callee). Compiled here, the patched side gets #line
 * directives, no line outside the changes moves, and the 40 -> 41 is a change.
 */
extern void __might_sleep(const char *file, int line);
extern int work(int x);

int first(int x)
{
	/* One more line. */
	return work(x) + 1;
}

int settle(int x)
{
	__might_sleep("settle", 41);
	return work(x) * 2;
}
