#ifndef LINES_H
#define LINES_H

/* Where a line number goes: gcc keeps the calls that pass it in the unlikely paths. */
extern void lines_report(int line, const char *file) __attribute__((cold));
extern int lines_io(int request);

static inline int lines_checked(int value)
{
	if (__builtin_expect(value < 0, 0)) {
		lines_report(__LINE__, __FILE__);
		return 0;
	}
	return value;
}

#endif
