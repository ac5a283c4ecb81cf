/*
 * A computed goto through a table of label addresses; the `bad` label's block calls a
 * cold function, so gcc moves it into dispatch.cold, and the table's entry for it is the
 * address of dispatch.cold's first byte. dispatch enters its part only through the table.
 */
extern void report(int) __attribute__((cold));
extern int work(int);

int dispatch(int op, int x)
{
	static void *const labels[] = { &&add, &&sub, &&bad };
	goto *labels[op];
add:
	return work(x + 1);
sub:
	return work(x - 1);
bad:
	report(op);
	report(x + 2);
	return -1;
}
