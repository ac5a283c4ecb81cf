extern int do_io(int);
extern void log_err(const char *) __attribute__((cold));

__attribute__((noinline)) int child_function(int x)
{
	int r = do_io(x);

	if (r < 0) {
		log_err("child_function: I/O failed");
		do_io(-1);
		log_err("child_function: retrying");
		r = do_io(x);
	}
	r = do_io(r + 3);
	return r * 3 + 1;
}

int parent_function(int x)
{
	return child_function(x) * 2;
}
