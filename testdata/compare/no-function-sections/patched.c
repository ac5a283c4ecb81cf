extern int hw_read(int);
extern void hw_write(int, int);
extern void report(const char *, int) __attribute__((cold));

static __attribute__((noinline)) int scale(int v)
{
	return hw_read(v) * 3 + 1;
}

static __attribute__((noinline)) int finish(int v)
{
	hw_write(v, 2);
	return hw_read(v + 1);
}

int mid(int x)
{
	int v = hw_read(x);

	if (__builtin_expect(v < 0, 0)) {
		report("mid: failed", v);
		hw_write(x, 0);
		hw_write(x + 1, 0);
		v = hw_read(x);
	}
	if (v > 1000)
		v = 1000 + hw_read(x + 2);
	return v + scale(x);
}

int last(int x)
{
	int v = hw_read(x);

	if (__builtin_expect(v < 0, 0)) {
		report("last: failed", v);
		hw_write(x, 1);
		v = hw_read(x);
	}
	return scale(v) + finish(x);
}
