/*
 * Undecodable bytes (0xd6, invalid in 64-bit mode) with each kind of resume point.
 */
	.text

/* No point to trust after the bad byte: one range up to the next symbol (landing). */
	.globl	stuck
	.type	stuck, @function
stuck:
	push	%rbx
	.byte	0xd6
	mov	%edi, %eax
	pop	%rbx
	ret
	.size	stuck, .-stuck

/* Resumes at the target of the je before the bad byte; the mov and add are in the range. */
	.globl	landing
	.type	landing, @function
landing:
	test	%edi, %edi
	je	1f
	.byte	0xd6
	mov	%edi, %eax
	add	$1, %eax
1:	ret
	.size	landing, .-landing

/*
 * Eight bytes of data (an address, R_X86_64_64) after the bad byte: no instruction start
 * before it puts a field on that relocation, so it stays an address reference; decoding
 * resumes at the call, whose displacement sits on the next relocation.
 */
	.globl	inline_data
	.type	inline_data, @function
inline_data:
	push	%rbx
	.byte	0xd6
	.quad	helper
	call	helper
	pop	%rbx
	ret
	.size	inline_data, .-inline_data

/*
 * The first start that puts a field on the relocation wins: the REX.W prefix of the mov
 * (`48 8b 05`), not `8b 05` or `05 imm32`, which put a field there too.
 */
	.globl	rip_load
	.type	rip_load, @function
rip_load:
	.byte	0xd6
	mov	value(%rip), %rax
	ret
	.size	rip_load, .-rip_load
	.section	.note.GNU-stack,"",@progbits
