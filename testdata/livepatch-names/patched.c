extern int do_io(int);
extern void log_err(const char *) __attribute__((cold));

__attribute__((noinline)) int retry(int x)
{
	do_io(0);
	return do_io(x) + 2;
}

__attribute__((noinline)) int child(int x)
{
	int r = do_io(x);

	if (__builtin_expect(r < 0, 0)) {
		log_err("child: I/O failed, retrying");
		r = do_io(-1);
	}
	if (r == 7)
		return retry(x);
	return r + 1;
}

int other(int x)
{
	return do_io(x) * 2;
}
