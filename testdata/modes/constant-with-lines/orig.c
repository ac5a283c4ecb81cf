/*
 * A patch that adds one line above set_mode() and also changes the constant set_mode()
 * passes to configure() from 4 to 5: the constant moves by exactly as much as the line
 * numbers of the WARN sites around it (the constant even lies between two of them). Only
 * the WARN sites' lines are proven line numbers (__bug_table): the constant is passed to
 * configure(), which nothing shows takes a line, so it is a change, and set_mode's .cold
 * part (the unlikely error path, split by gcc) belongs in both stack-only sets.
 */
extern void configure(void *dev, int mode);
extern void report(void *dev, int err) __attribute__((cold));
extern int probe(void *dev);

#define WARN_SITE()							\
	asm volatile("1: ud2\n\t"					\
		     ".pushsection __bug_table, \"aw\"\n\t"		\
		     "2: .long 1b - .\n\t"				\
		     ".long %c0 - .\n\t"				\
		     ".word %c1\n\t"					\
		     ".word 0\n\t"					\
		     ".org 2b + 12\n\t"					\
		     ".popsection"					\
		     : : "i" (__FILE__), "i" (__LINE__))

int set_mode(void *dev)
{
	int err = probe(dev);

	if (__builtin_expect(err < 0, 0)) {
		report(dev, err);
		probe(dev);
		report(dev, err * 2);
		WARN_SITE();
		return err;
	}
	if (err == 3)
		WARN_SITE();
	configure(dev, 4);
	if (err > 100)
		WARN_SITE();
	return 0;
}
