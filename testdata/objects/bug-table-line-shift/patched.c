/*
 * BUG()/WARN() sites as the kernel records them (arch/x86/include/asm/bug.h): a ud2 in
 * the code and a __bug_table entry {addr, file, line, flags}. The patch adds lines at the
 * top of the file, which shifts the line of every entry below, and changes check_b: only
 * check_b is a change.
 */
extern void note(int);
/* Two lines added here, */
/* so every __LINE__ below moves by 2. */

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

int check_a(int x)
{
	if (x < 0)
		WARN_SITE();
	note(x);
	return x;
}

int check_b(int x)
{
	if (x > 100)
		WARN_SITE();
	note(x + 2);
	return x * 2;
}

int check_c(int x)
{
	if (x == 7)
		WARN_SITE();
	return x - 1;
}
