/* Stands in for vmlinux: not a module (no .modinfo), with a function split by gcc. */
extern int do_io(int);
extern void log_err(const char *) __attribute__((cold));

__attribute__((noinline)) int vm_func(int x)
{
	int r = do_io(x);

	if (__builtin_expect(r < 0, 0)) {
		log_err("vm_func: failed");
		r = do_io(-x);
	}
	return r * 2;
}
