/*
 * frob has a byte no x86-64 instruction starts with (0xd6) in its code, then loads a string
 * and tail-calls helper. The tool decodes past the byte, but it cannot know what the byte
 * was meant to be, so frob is "unchanged" only if its bytes and relocations are the same.
 *
 * -DADD_STRING (the patched build): a new function, other, uses data placed before frob's
 * in .rodata, so the relocation of frob's lea moves (.rodata-0x4 -> .rodata+0xa) while the
 * bytes it reaches and every byte of frob stay the same. Fully decoded code would compare
 * equal (anonymous data by content); frob is reported changed, reason undecodable.
 * -DCHANGE_SECOND: only `second` changes; frob's bytes and relocations are identical, so
 * frob is not reported.
 */
	.section	.rodata
#ifdef ADD_STRING
.LC1:
	.string	"other message"
#endif
.LC0:
	.string	"frob message"

	.text
	.globl	frob
	.type	frob, @function
frob:
	test	%edi, %edi
	je	1f
	.byte	0xd6
	lea	.LC0(%rip), %rdi
	jmp	helper
1:	ret
	.size	frob, .-frob

	.globl	second
	.type	second, @function
second:
	push	%rbx
#ifdef CHANGE_SECOND
	mov	$2, %edi
#else
	mov	$1, %edi
#endif
	call	helper
	pop	%rbx
	ret
	.size	second, .-second

#ifdef ADD_STRING
	.globl	other
	.type	other, @function
other:
	lea	.LC1(%rip), %rdi
	jmp	helper
	.size	other, .-other
#endif
	.section	.note.GNU-stack,"",@progbits
