/*
 * Label addresses as evidence for parts. foo takes the address of a label inside its cold
 * part foo.cold (not its first byte) and jumps there indirectly: the parent enters the
 * part, though no jmp/jcc names it. bar never enters bar.cold; only another function
 * (other) takes addresses in it, at its first byte and inside it: that is no evidence for
 * bar, and the warning that bar never jumps into bar.cold stays.
 */
	.text
	.globl	foo
	.type	foo, @function
foo:
	lea	.Lresume(%rip), %rax
	test	%edi, %edi
	jne	1f
	jmp	*%rax
1:	ret
	.size	foo, .-foo

	.globl	bar
	.type	bar, @function
bar:
	ret
	.size	bar, .-bar

	.globl	other
	.type	other, @function
other:
	lea	bar.cold(%rip), %rax
	lea	bar.cold+2(%rip), %rdx
	ret
	.size	other, .-other

	.section	.text.unlikely,"ax",@progbits
	.type	foo.cold, @function
foo.cold:
	call	report
.Lresume:
	ret
	.size	foo.cold, .-foo.cold

	.type	bar.cold, @function
bar.cold:
	nop
	nop
	ret
	.size	bar.cold, .-bar.cold
	.section	.note.GNU-stack,"",@progbits
