/*
 * WARN_ON(x) as the kernel records it on x86-64 (arch/x86/include/asm/bug.h): a ud2 in the
 * code and a __bug_table entry {addr, file, line, flags}. The patch turns it into
 * WARN_ON_ONCE(x): the code bytes stay the same, only the entry's flags gain BUGFLAG_ONCE.
 */
extern void note(int);

#define BUGFLAG_WARNING		(1 << 0)
#define BUGFLAG_ONCE		(1 << 1)
#define BUGFLAG_TAINT(taint)	((taint) << 8)
#define TAINT_WARN		9

#define WARN_FLAGS(flags)						\
	asm volatile("1: ud2\n\t"					\
		     ".pushsection __bug_table, \"aw\"\n\t"		\
		     "2: .long 1b - .\n\t"				\
		     ".long %c0 - .\n\t"				\
		     ".word %c1\n\t"					\
		     ".word %c2\n\t"					\
		     ".org 2b + 12\n\t"					\
		     ".popsection"					\
		     : : "i" (__FILE__), "i" (__LINE__), "i" (flags))

#define WARN_ON(x)	do { if (__builtin_expect(!!(x), 0)) WARN_FLAGS(BUGFLAG_WARNING | BUGFLAG_TAINT(TAINT_WARN)); } while (0)
#define WARN_ON_ONCE(x)	do { if (__builtin_expect(!!(x), 0)) WARN_FLAGS(BUGFLAG_WARNING | BUGFLAG_ONCE | BUGFLAG_TAINT(TAINT_WARN)); } while (0)

int check_state(int x)
{
	WARN_ON(x < 0);
	note(x);
	return x + 1;
}

int other(int x)
{
	WARN_ON(x > 1000);
	note(x * 3);
	return x;
}
