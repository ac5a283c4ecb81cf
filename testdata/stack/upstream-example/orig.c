extern int do_io(int);
extern void log_err(const char *) __attribute__((cold));

__attribute__((noinline)) int child_func(int x)
{
	int r = do_io(x);

	if (__builtin_expect(r < 0, 0)) {
		log_err("child_func: I/O failed");
		do_io(-1);
		log_err("child_func: retrying");
		r = do_io(x);
	}
	return r + 1;
}

int parent_func(int x)
{
	return child_func(x) * 2;
}
