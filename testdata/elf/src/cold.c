/* Functions whose unlikely blocks gcc moves to .cold parts, plus clones
 * (constprop, isra, part) whose cold parts get composite names. */
extern void panic_msg(const char *m, int v) __attribute__((cold));
extern int read_reg(int r);
extern void sleep_io(void);

struct dev { int id; int flags; int state; char name[16]; };

static int __attribute__((noinline)) check_dev(struct dev *d, int mode)
{
	if (__builtin_expect(d->state == 0xdead, 0)) {
		panic_msg(d->name, d->id);
		sleep_io();
		return -5;
	}
	return d->flags & mode;
}

int probe(struct dev *d)
{
	int r = check_dev(d, 3);
	if (__builtin_expect(r < 0, 0)) {
		panic_msg("probe", r);
		sleep_io();
	}
	return r + check_dev(d, 3);
}

static int big_part(int x)
{
	if (x > 100)
		return 1;
	for (int i = 0; i < x; i++) {
		if (__builtin_expect(read_reg(i) == -1, 0)) {
			panic_msg("reg", i);
			sleep_io();
			sleep_io();
		}
		x += read_reg(i + 1) * read_reg(i + 2) + read_reg(i + 3);
	}
	return x;
}

int use_big(int a, int b) { return big_part(a) + big_part(b) + big_part(a + b); }

const char *state_name(int s)
{
	switch (s) {
	case 0: return "idle";
	case 1: return "busy";
	case 2: return "sleeping";
	case 3: return "dead";
	case 4: return "zombie";
	case 5: return "stopped";
	case 6: return "traced";
	default:
		panic_msg("bad state", s);
		return "?";
	}
}
