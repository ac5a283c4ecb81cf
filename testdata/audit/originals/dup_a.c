/* dup_mod, first unit: a local helper whose name the second unit uses too. */
static const char modinfo_name[] __attribute__((section(".modinfo"), used, aligned(1))) = "name=dup_mod";

extern int do_io(int);

static __attribute__((noinline, noclone)) int helper(int x)
{
	return do_io(x) + 1;
}

int use_a(int x)
{
	return helper(x) * 3;
}
