/*
 * A static branch as the kernel builds it (arch/x86/include/asm/jump_label.h): a 5-byte
 * NOP in the code and a __jump_table entry {code, target, key} beside it. The patch
 * switches the branch to another key: the code bytes stay the same, only the table
 * entry changes, so only the table says that account() changed.
 */
struct static_key { int enabled; };
struct static_key key_fast = { 0 }, key_trace = { 0 };
extern void slow_path(int);
extern void trace_event(int);

#define static_branch(key)						\
({									\
	int taken = 0;							\
	asm goto("1: .byte 0x0f,0x1f,0x44,0x00,0x00\n\t"			\
		 ".pushsection __jump_table, \"aw\"\n\t"		\
		 ".balign 8\n\t"					\
		 ".long 1b - ., %l[yes] - .\n\t"			\
		 ".quad %c0 - .\n\t"					\
		 ".popsection\n\t"					\
		 : : "i" (key) : : yes);				\
	goto done;							\
yes:									\
	taken = 1;							\
done:									\
	taken;								\
})

int account(int x)
{
	if (static_branch(&key_trace))
		slow_path(x);
	return x * 3;
}

int other(int x)
{
	if (static_branch(&key_trace))
		trace_event(x);
	return x + 1;
}
