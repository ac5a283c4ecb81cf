extern int cfg_get(int);
extern void cfg_set(int, int);
extern void report(const char *, int) __attribute__((cold));

void set_limit(int key, int val)
{
	int max = cfg_get(key);

	if (__builtin_expect(val > max, 0))
		val = max;
	cfg_set(key, val);
}

int get_limit(int key)
{
	return cfg_get(key);
}
