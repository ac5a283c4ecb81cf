extern int dev_read(int);
extern void dev_reset(int);
extern void report(const char *, int) __attribute__((cold));

static __attribute__((noinline)) int fetch(int port)
{
	int v = dev_read(port);

	if (__builtin_expect(v < 0, 0)) {
		report("fetch: read failed", v);
		dev_reset(port);
		v = dev_read(port);
	}
	return v ^ port;
}

int poll_port(int port)
{
	return fetch(port) * 2 + 1;
}
