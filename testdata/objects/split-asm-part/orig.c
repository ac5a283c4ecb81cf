extern int hw_read(int);
extern void hw_write(int, int);
extern void report(const char *, int) __attribute__((cold));

int guarded_read(int port)
{
	int v = hw_read(port);

	if (__builtin_expect(v < 0, 0)) {
		report("guarded_read: failed", v);
		hw_write(port, 0);
		v = hw_read(port);
	}
	return v + 1;
}

int plain_read(int port)
{
	return hw_read(port) + 2;
}
