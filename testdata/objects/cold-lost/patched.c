extern int buf_alloc(int);
extern void buf_free(int);
extern void report(const char *, int) __attribute__((cold));

int open_buf(int size)
{
	int h = buf_alloc(size);

	if (__builtin_expect(h < 0, 0)) {
		buf_free(size);
		return -12;
	}
	return h;
}

int close_buf(int h)
{
	buf_free(h);
	return 0;
}
