extern int do_io(int);

/* A static of the same name in another unit: promoted too, under c.c's own hash. */
static __attribute__((noinline)) int scale(int x)
{
	return do_io(x) * 5 + 3;
}

int api_c(int x)
{
	return scale(x) - 1;
}
