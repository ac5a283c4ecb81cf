extern int hw_read(int);
extern void hw_write(int, int);
extern void report(const char *, int) __attribute__((cold));
extern void io_fixup(void);

int guarded_read(int port)
{
	int v = hw_read(port);

	if (__builtin_expect(v < 0, 0)) {
		report("guarded_read: failed", v);
		hw_write(port, 0);
		v = hw_read(port);
	}
	/* out-of-line fixup stub: a second part, entered by jz, jumps back */
	asm goto("testl %0, %0\n\t"
		 "jz guarded_read_fixup\n\t"
		 ".pushsection .text.fixup.guarded_read,\"ax\",@progbits\n"
		 ".type guarded_read_fixup, @function\n"
		 "guarded_read_fixup:\n\t"
		 "call io_fixup\n\t"
		 "jmp %l[out]\n"
		 ".size guarded_read_fixup, .-guarded_read_fixup\n\t"
		 ".popsection"
		 : : "r" (v)
		 : "cc", "memory", "rax", "rcx", "rdx", "rsi", "rdi",
		   "r8", "r9", "r10", "r11"
		 : out);
	return v + 1;
out:
	return -5;
}

int plain_read(int port)
{
	return hw_read(port) + 2;
}
