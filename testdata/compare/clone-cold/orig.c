extern int dev_read(int, int);
extern void dev_reset(int);
extern void report(const char *, int) __attribute__((cold));

static __attribute__((noinline)) int read_reg(int port, int reg)
{
	int v = dev_read(port, reg);

	if (__builtin_expect(v < 0, 0)) {
		report("read_reg: failed", reg);
		dev_reset(port);
		v = dev_read(port, reg);
	}
	return v + reg;
}

int read_ctrl(void)
{
	return read_reg(0x60, 1);
}

int read_data(void)
{
	return read_reg(0x60, 2) + read_reg(0x60, 3);
}
