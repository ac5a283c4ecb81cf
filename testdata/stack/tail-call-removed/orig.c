extern int legacy_io(int);
extern int modern_io(int);
extern int dev_state(int);
extern void flush(int);
extern void report(const char *, int) __attribute__((cold));

static __attribute__((noinline)) int legacy_prepare(int dev)
{
	return dev_state(dev) * 3 + dev;
}

static __attribute__((noinline)) int legacy_submit(int dev, int cmd)
{
	int r = legacy_io(cmd);

	if (__builtin_expect(r < 0, 0)) {
		report("legacy_submit: failed", cmd);
		flush(dev);
		r = legacy_io(cmd);
	}
	return r + dev;
}

int dispatch(int dev, int cmd)
{
	int p = legacy_prepare(dev);

	return legacy_submit(p, cmd);
}

int device_ready(int dev)
{
	return dev_state(dev) > 0;
}
