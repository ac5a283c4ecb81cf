extern int dev_read(int);
extern void dev_reset(int);
extern void report(const char *, int) __attribute__((cold));

static inline int read_checked(int port)
{
	int v = dev_read(port);

	if (__builtin_expect(v < 0, 0)) {
		report("read_checked: read failed", v);
		dev_reset(port);
		v = dev_read(port);
	}
	return v;
}

int read_status(int port)
{
	return read_checked(port) & 0xff;
}

int read_pair(int a, int b)
{
	return read_checked(a) + read_checked(b);
}
