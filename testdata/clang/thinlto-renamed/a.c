extern int do_io(int);

/* Called from api(), which b.c imports and inlines: ThinLTO promotes both to hidden globals. */
static __attribute__((noinline)) int scale(int x)
{
	return do_io(x) * 7 + 1;
}

static __attribute__((noinline)) int check(int x)
{
	return x > 100 ? do_io(-x) : x;
}

int api(int x)
{
	return scale(x) + check(x + 1);
}
