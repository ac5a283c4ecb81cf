/*
 * livepatch-names (test/livepatch-names.test.ts): child() has a cold part in both builds
 * (log_err is cold); the patched child() also tail-calls a helper only it has.
 */
extern int do_io(int);
extern void log_err(const char *) __attribute__((cold));

__attribute__((noinline)) int child(int x)
{
	int r = do_io(x);

	if (__builtin_expect(r < 0, 0)) {
		log_err("child: I/O failed");
		r = do_io(-1);
	}
	return r + 1;
}

int other(int x)
{
	return do_io(x) * 2;
}
