extern int dev_read(int);
extern void dev_reset(int);
extern void report(const char *, int) __attribute__((cold));

struct stats {
	int reads;
	int errors;
};

static struct stats st;

int read_port(int port)
{
	int val = dev_read(port);

	st.reads++;
	if (__builtin_expect(val < 0, 0)) {
		st.errors++;
		report("read_port: failed", val);
		dev_reset(port);
		val = dev_read(port);
	}
	return val;
}

int error_rate(void)
{
	return st.reads ? st.errors * 100 / st.reads : 0;
}
