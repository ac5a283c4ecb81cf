/* Instructions of the kind a kernel build emits, for test/disasm.test.ts:
 * disassembleOne() must print each one as objdump -d does (whitespace
 * collapsed, <symbol> annotations dropped, branch targets with 0x). */
	.text
	.globl	sample
	.type	sample, @function
sample:
	endbr64
	.byte	0x0f, 0x1f, 0x44, 0x00, 0x00 /* nopl 0x0(%rax,%rax,1): gas would drop the 0x0 */
	push	%rbp
	mov	%rsp, %rbp
	push	%r15
	push	%rbx
	sub	$0x18, %rsp
	and	$-16, %rsp
	mov	$0x3f, %edx
	mov	$-1, %rcx
	movabs	$0x123456789abcdef0, %rax
	xor	%eax, %eax
	mov	%gs:0x28, %rax
	mov	%rax, -0x10(%rbp)
	mov	%gs:0x0, %rbx
	incl	%gs:0x0
	mov	0x0(%rip), %rax
	lea	0x8(%rdi,%rsi,4), %rcx
	lea	(%rsi,%rdx), %eax
	mov	-0x7e000000(,%rax,8), %rdx
	movzbl	0x10(%rdi), %eax
	movzwl	%ax, %ecx
	movslq	%esi, %rsi
	movsbl	(%rdx), %r8d
	cltq
	cqto
	idivq	%r8
	imul	$0x147b, %eax, %eax
	imul	$0x38, %rsi, %rdi
	test	%eax, %eax
	testb	$0x1, 0x24(%rdi)
	cmpq	$0x0, 0x8(%rbx)
	cmp	$0x7f, %esi
	cmovne	%edx, %eax
	sete	%al
	sar	%ebx
	shl	$0x4, %rax
	shr	%cl, %edx
	bt	%rax, %rdx
	lock cmpxchg %rdx, (%rdi)
	lock incl 0x8(%rdi)
	xchg	%rax, (%rsi)
	movq	$0x0, 0x18(%rbx)
	movl	$0xffffffff, 0x4(%rdi)
	movw	$0x1234, 0x8(%rsp)
	movb	$0x0, (%rax)
	rep movsq
	rep stosb
	rep stos %rax, %es:(%rdi)
	jmp	.L2
.L1:	je	.L2
	jne	sample
	jbe	.L3
	ja	.L1
	js	.L1
	call	ext_func
	.byte	0x2e /* gas drops a written cs prefix on call: cs call (retpoline thunk) */
	call	__x86_indirect_thunk_rax
	call	*%rax
	call	*0x10(%rbx)
	jmp	*%rax
	jmp	*0x0(,%rax,8)
	notrack jmp *%rdx
.L2:	cli
	sti
	pushf
	popf
	pause
	lfence
	swapgs
	rdmsr
	wrmsr
	mov	%cr3, %rax
	mov	%rax, %cr3
	invlpg	(%rdi)
	monitor
	mwait
	ud2
	int3
	nopw	0x0(%rax,%rax,1)
	.byte	0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 /* cs nopl */
	.byte	0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 /* cs nopw */
	.byte	0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 /* data16 cs nopw */
	xchg	%ax, %ax
	nop
.L3:	pop	%rbx
	pop	%r15
	pop	%rbp
	leave
	jmp	__x86_return_thunk
	ret
	.size	sample, .-sample
	.section .note.GNU-stack,"",@progbits
