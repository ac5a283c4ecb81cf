/*
 * __LINE__ where stackonly compiles the patched side itself. The patch adds two lines to
 * changed_fn near the top (a comment and a statement), which moves every later line by 2,
 * and changes real_constant_fn's constant from 7 to 9: the same amount.
 */
extern void report_line(int line, const char *f);
extern void slow_path(int value) __attribute__((cold));
extern int work(int request);

int changed_fn(int x)
{
	int r = work(x);

	/* A second request: the first one may find the device asleep. */
	r += work(x);
	return r + 1;
}

int check_cold(int x)
{
	int r = work(x);

	if (__builtin_expect(r < 0, 0)) {
		slow_path(r);
		report_line(__LINE__, __FILE__);
		work(-1);
		slow_path(__LINE__);
		r = work(-r);
	}
	return r + 1;
}

int check_twice(int x)
{
	int r = work(x);

	if (__builtin_expect(r == 0, 0)) {
		slow_path(x);
		report_line(__LINE__, __func__);
		work(-2);
		slow_path(x + 1);
		r = -1;
	}
	if (r > 1000)
		report_line(__LINE__, __func__);
	return r * 2;
}

int check_hot(int x)
{
	report_line(__LINE__, __func__);
	return work(x + 1);
}

void real_constant_fn(int x)
{
	report_line(9, "real_constant_fn");
	work(x);
}

int check_last(int x)
{
	if (__builtin_expect(x > 99, 0)) {
		slow_path(__LINE__);
		x = work(x);
	}
	return x + 3;
}
