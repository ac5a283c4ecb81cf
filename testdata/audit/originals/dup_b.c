/* dup_mod, second unit: another local helper of the same name. */
extern int do_io(int);

static __attribute__((noinline, noclone)) int helper(int x)
{
	return do_io(x * 2) - 1;
}

int use_b(int x)
{
	return helper(x) + 7;
}
