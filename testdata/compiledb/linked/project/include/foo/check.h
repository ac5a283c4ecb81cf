#ifndef FOO_CHECK_H
#define FOO_CHECK_H

/* Reports a bad value; cold, so that gcc moves the paths that call it into .cold parts. */
extern void foo_report(const char *what, int value) __attribute__((cold));

#define FOO_WEIGHT 3

/*
 * A static inline function of a header, as ext4's extents_status.h has them: every unit
 * that takes its address gets its own out-of-line copy, a local symbol of the same name
 * (and so does its .cold part).
 */
static inline int foo_check(const int *v, int n)
{
	int sum = 0;

	for (int i = 0; i < n; i++) {
		if (__builtin_expect(v[i] < 0, 0)) {
			foo_report("negative value", v[i]);
			return -1;
		}
		sum += v[i] * (i + FOO_WEIGHT);
	}
	return sum;
}

#endif
