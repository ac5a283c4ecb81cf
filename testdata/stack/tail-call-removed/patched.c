extern int legacy_io(int);
extern int modern_io(int);
extern int dev_state(int);
extern void flush(int);
extern void report(const char *, int) __attribute__((cold));

int dispatch(int dev, int cmd)
{
	return modern_io(dev * 256 + cmd);
}

int device_ready(int dev)
{
	return dev_state(dev) > 0;
}
