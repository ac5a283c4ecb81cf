/* The original module of the kpatch, klp-build and upstream-style audit fixtures. */
static const char modinfo_name[] __attribute__((section(".modinfo"), used, aligned(1))) = "name=orig_mod";

extern int do_io(int);
extern void log_err(const char *) __attribute__((cold));

/* The unlikely branch calls a cold function: gcc -O2 moves it into child_func.cold. */
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

/* Leaves for child_func with a jump: no frame of tail_parent is left while child_func runs. */
int tail_parent(int x)
{
	if (x > 5)
		return child_func(x + 1);
	return x - 1;
}
