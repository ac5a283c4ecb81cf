extern int hw_op(int, int);
extern int hw_flags(int);
extern void hw_reset(int);
extern void report(const char *, int) __attribute__((cold));

static __attribute__((noinline)) int xfer(int op, int len)
{
	int r;

	switch (op) {
	case 1: r = hw_op(0x10, len); break;
	case 2: r = hw_op(0x20, len * 4) + hw_flags(len); break;
	case 3: r = hw_flags(len) * 7 + hw_op(0x30, len); break;
	default: r = hw_op(op, len) - hw_flags(op); break;
	}
	if (__builtin_expect(r < 0, 0)) {
		report("xfer: failed", r);
		hw_reset(op);
		r = hw_op(op, len);
	}
	return r + len;
}

int read_block(int n)
{
	int i, s = 0;

	for (i = 0; i < n; i++)
		s += xfer(1, i);
	return s;
}

int read_more(int len)
{
	return xfer(1, len * 2) + 2;
}

int write_more(int len)
{
	return xfer(2, len * 2);
}

int write_block(int n)
{
	int i, s = 0;

	for (i = 0; i < n; i++)
		s += xfer(2, i);
	return s;
}
