/*
 * frob has a byte no x86-64 instruction starts with (0xd6, invalid in 64-bit mode) in the
 * middle of its code. Decoding must resume at the `jmp helper` right after it (an
 * instruction start that puts its branch displacement on the R_X86_64_PLT32 relocation),
 * so that the jmp stays a tail call, and must report the one bad byte. The same byte
 * between frob and second lies outside any function: no warning for it.
 * Built with -DPATCHED, a function comes before frob (16 bytes with its padding) and frob
 * is the same: a twin's copy of frob's decoding (moved by 16) must carry its undecodable byte.
 */
	.text
#ifdef PATCHED
	.globl	before
	.type	before, @function
before:
	mov	%edi, %eax
	ret
	.size	before, .-before
	.p2align 4
#endif
	.globl	frob
	.type	frob, @function
frob:
	test	%edi, %edi
	je	1f
	.byte	0xd6
	jmp	helper
1:	ret
	.size	frob, .-frob

	.byte	0xd6
	.p2align 4

	.globl	second
	.type	second, @function
second:
	push	%rbx
	call	helper
	pop	%rbx
	ret
	.size	second, .-second
	.section	.note.GNU-stack,"",@progbits
