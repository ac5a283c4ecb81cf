/* Hand-picked encodings that compilers rarely emit but kernel and libc
 * assembly does: system instructions, odd immediates, XOP/3DNow!, AMX,
 * AVX-512 forms, 16-bit branches and prefix soups. Assembled by gcc. */
	.text
	.globl	sys_mix
	.type	sys_mix, @function
sys_mix:
	endbr64
	enter	$0x20, $0
	enter	$0x1000, $3
	leave
	movabs	$0x1122334455667788, %rax
	movabs	$0x1122334455667788, %r11
	movabs	0x1122334455667788, %al
	movabs	0x1122334455667788, %rax
	movabs	%eax, 0x1122334455667788
	addr32 mov 0x11223344, %al
	mov	$0x1234, %ax
	mov	$0x12345678, %r9d
	mov	$-1, %rcx
	movw	$0x1234, 8(%rsp)
	movq	$-5, 0x12345678(%rbx,%r12,8)
	testb	$1, (%rdi)
	testw	$0x100, 2(%rdi)
	testl	$0x10000, 4(%rdi)
	testq	$-2, 8(%rdi)
	notl	%eax
	negq	(%rax)
	mulb	%cl
	idivq	%r8
	imul	$1000, %rax, %rdx
	imul	$10, %ax, %dx
	push	$0x12345678
	push	$5
	pushw	$0x1234
	pushq	(%rax)
	popq	8(%rax)
	pushf
	popf
	lock	cmpxchg16b (%rdi)
	lock	cmpxchg8b 8(%rdi)
	lock	xaddq %rax, (%rsi)
	lock	btsq $5, (%rdx)
	xchg	%ax, %ax
	.byte 0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0
	nopl	0x0(%rax)
	nopw	0x0(%rax,%rax,1)
	rdrand	%rax
	rdseed	%ecx
	rdpid	%rax
	rdtscp
	rdtsc
	rdpmc
	rdmsr
	wrmsr
	cpuid
	xgetbv
	xsetbv
	xsave	(%rdi)
	xsave64	(%rdi)
	xrstor	(%rdi)
	xsaveopt64 0x40(%rdi)
	xsavec	(%rsi)
	xsaves64 (%rsi)
	xrstors	(%rsi)
	fxsave	(%rdi)
	fxrstor64 (%rdi)
	fnstcw	-4(%rsp)
	fstcw	-4(%rsp)
	fnstsw	%ax
	fstsw	%ax
	fwait
	fldt	(%rdi)
	fstpt	16(%rdi)
	fldz
	fld1
	fsincos
	fucomip	%st(1), %st
	fildll	(%rsi)
	fistpll	8(%rsi)
	syscall
	sysretq
	sysretl
	swapgs
	sysenter
	sysexitq
	iretq
	iretl
	lretq
	lretq	$8
	lretw
	ret	$16
	rep ret
	int3
	int	$0x80
	int1
	hlt
	ud2
	ud1	%eax, %edx
	ud1	0x10(%rax), %eax
	ud0	%eax, %eax
	mov	%cr0, %rax
	mov	%rax, %cr4
	mov	%cr8, %rcx
	mov	%db7, %rdx
	mov	%rax, %db0
	lgdt	(%rax)
	sgdt	(%rax)
	lidt	8(%rax)
	lldt	%ax
	ltr	%ax
	str	%eax
	invlpg	(%rdi)
	invpcid	(%rdi), %rax
	wbinvd
	invd
	clts
	clflush	(%rdi)
	clflushopt (%rdi)
	clwb	(%rdi)
	prefetcht0 (%rdi)
	prefetchnta 64(%rdi)
	prefetchw (%rdi)
	lfence
	mfence
	sfence
	pause
	monitor
	mwait
	vmcall
	vmlaunch
	vmresume
	vmxoff
	vmread	%rax, %rbx
	vmwrite	(%rax), %rbx
	vmptrld	(%rax)
	vmclear	(%rax)
	invept	(%rax), %rcx
	vmmcall
	vmrun
	stac
	clac
	encls
	rdfsbase %rax
	wrgsbase %rcx
	rdpkru
	wrpkru
	ptwrite	%rax
	tpause	%eax
	umonitor %rax
	umwait	%ecx
	movdiri	%rax, (%rdx)
	movdir64b (%rsi), %rdi
	enqcmd	(%rsi), %rdi
	serialize
	hreset	$1
	wbnoinvd
	pconfig
	incsspq	%rax
	rdsspq	%rax
	saveprevssp
	setssbsy
	clrssbsy (%rax)
	wrssq	%rax, (%rdi)
	endbr32
	notrack jmp *%rax
	notrack call *(%rax)
	bnd jmp	sys_mix
	bnd call sys_mix
	bnd ret
	jmp	*%r11
	jmp	*0x10(%rax,%rbx,8)
	jmp	*sys_mix(,%rax,8)
	call	*%rax
	call	*sys_mix(%rip)
	ljmp	*(%rax)
	lcall	*8(%rax)
	xbegin	1f
	xabort	$3
	xend
	xtest
1:	jrcxz	1b
	jecxz	1b
	loop	1b
	loope	1b
	loopne	1b
	crc32b	%al, %ecx
	crc32w	(%rax), %ecx
	crc32q	%rax, %rcx
	movbe	(%rax), %ecx
	popcnt	%rax, %rdx
	lzcnt	%ax, %dx
	tzcnt	%rax, %rdx
	adcx	%rax, %rdx
	adox	%eax, %edx
	bswap	%eax
	bswap	%r12
	shld	$3, %rax, %rdx
	shrd	%cl, %rax, %rdx
	bt	$63, %rax
	in	$0x60, %al
	out	%al, $0x80
	inw	(%dx), %ax
	insb
	rep movsb
	rep stosq
	repne scasb
	cmpsw
	lodsl
	xlat
	cmc
	std
	cld
	sahf
	lahf
	cqto
	cltq
	cwtl
	movsxd	(%rax), %rcx
	movsbw	%al, %cx
	movzwl	(%rax), %ecx
	femms
	pfadd	%mm1, %mm0
	pfrcp	(%rax), %mm2
	pi2fd	8(%rax), %mm3
	emms
	extrq	$4, $8, %xmm1
	insertq	$4, $8, %xmm2, %xmm1
	extrq	%xmm2, %xmm1
	vpcmov	%xmm3, %xmm2, %xmm1, %xmm0
	vprotd	$5, (%rax), %xmm1
	vpshab	%xmm1, %xmm2, %xmm3
	vfrczps	(%rax), %ymm1
	bextr	$0x1234, %eax, %ecx
	lwpins	$0x12345678, (%rax), %edx
	blcfill	%eax, %edx
	ldtilecfg (%rax)
	sttilecfg (%rax)
	tileloadd (%rax,%rbx,4), %tmm0
	tileloaddt1 0x40(%rax,%rbx,4), %tmm1
	tilestored %tmm2, (%rax,%rbx,1)
	tdpbssd	%tmm1, %tmm2, %tmm3
	tdpbf16ps %tmm4, %tmm5, %tmm6
	tilezero %tmm7
	tilerelease
	vzeroupper
	vzeroall
	vmovdqu64 0x40(%rax), %zmm1{%k1}{z}
	vpgatherdd (%rax,%zmm2,4), %zmm3{%k2}
	vscatterqpd %zmm4, 8(%rax,%zmm5,8){%k3}
	vaddps	{rn-sae}, %zmm1, %zmm2, %zmm3
	vaddpd	(%rax){1to8}, %zmm1, %zmm2
	vpternlogd $0xff, %zmm1, %zmm2, %zmm3
	vpcmpuq	$2, 0x1000(%rax), %zmm1, %k2
	vextracti64x4 $1, %zmm1, (%rax)
	kmovw	%k1, %eax
	kmovq	(%rax), %k2
	kandnw	%k1, %k2, %k3
	kshiftlw $3, %k1, %k2
	vcvtsh2ss %xmm1, %xmm2, %xmm3
	vaddph	0x40(%rax), %zmm1, %zmm2
	vfmadd132ph %zmm1, %zmm2, %zmm3
	vp2intersectd %zmm1, %zmm2, %k3
	vpdpbusd %zmm1, %zmm2, %zmm3
	{vex} vpdpbusd %ymm1, %ymm2, %ymm3
	vpermt2b %zmm1, %zmm2, %zmm3
	vpshldvq 0x80(%rax), %zmm1, %zmm2
	vgf2p8affineqb $1, %zmm1, %zmm2, %zmm3
	vaesenc	%zmm1, %zmm2, %zmm3
	vpclmulqdq $0x10, %zmm1, %zmm2, %zmm3
	vpshufb	%ymm1, %ymm2, %ymm3
	vpermq	$0x1b, %ymm1, %ymm2
	vpblendd $0xf0, (%rax), %ymm1, %ymm2
	vpsllq	$3, %ymm1, %ymm2
	vpsrldq	$4, %xmm1, %xmm2
	vpinsrq	$1, %rax, %xmm1, %xmm2
	vpextrw	$3, %xmm1, %eax
	vcmpps	$7, %ymm1, %ymm2, %ymm3
	vshufpd	$5, %ymm1, %ymm2, %ymm3
	vpgatherdq %xmm1, (%rax,%xmm2,8), %xmm3
	vmaskmovps %ymm1, %ymm2, (%rax)
	andn	%rax, %rbx, %rcx
	rorx	$5, %rax, %rbx
	sarx	%rax, %rbx, %rcx
	pshufd	$0x1b, %xmm1, %xmm2
	pshufw	$0x1b, %mm1, %mm2
	psrlq	$3, %mm1
	pslldq	$8, %xmm1
	pinsrw	$2, %eax, %xmm1
	pextrw	$2, %xmm1, %eax
	shufps	$0x44, %xmm1, %xmm2
	cmpps	$1, (%rax), %xmm2
	palignr	$3, %xmm1, %xmm2
	palignr	$3, %mm1, %mm2
	pclmulqdq $0x11, %xmm1, %xmm2
	aeskeygenassist $1, %xmm1, %xmm2
	roundsd	$4, %xmm1, %xmm2
	pcmpistri $0x0c, (%rax), %xmm1
	pblendvb %xmm0, %xmm1, %xmm2
	sha256rnds2 %xmm0, %xmm1, %xmm2
	sha1rnds4 $3, %xmm1, %xmm2
	gf2p8affineinvqb $2, %xmm1, %xmm2
	movnti	%rax, (%rdi)
	maskmovq %mm1, %mm2
	movntdqa (%rax), %xmm1
	cvtsi2sdq %rax, %xmm1
	cvttsd2si %xmm1, %rax
	ldmxcsr	(%rax)
	stmxcsr	4(%rax)
	lock incl (%rax)
	xacquire lock incl (%rax)
	xrelease movl $0, (%rax)
	fs mov	%fs:0x28, %rax
	mov	%gs:0x1234, %eax
	mov	%es:(%rax), %al
	.byte 0x2e, 0xe8, 0, 0, 0, 0
	ds jmp	sys_mix
	data16 call 1f
1:	data16 jmp 1f
1:	.byte 0x66, 0x0f, 0x84, 0x00, 0x00
	.byte 0x66, 0x48, 0xe8, 0, 0, 0, 0
	.byte 0x66, 0xc7, 0xf8, 0, 0
	.byte 0x67, 0xe8, 0, 0, 0, 0
	addr32 jmp *(%eax)
	mov	(%eax,%ebx,4), %ecx
	lea	0x10(%esp), %eax
	mov	%eax, (%r13)
	mov	%eax, (%r12)
	mov	%eax, 0(%rbp)
	mov	(,%rax,2), %ecx
	mov	0x12345678, %ecx
	mov	0x12(%rip), %ecx
	movb	$3, 0x10(%rip)
	movl	$0x12345678, 0x10(%rip)
	addq	$0x7f, -0x80(%rsp)
	adcw	$0x1234, (%rbx)
	sbbb	$0x12, %al
	xorl	$0x12345678, %eax
	cmpw	$0x1234, %ax
	orq	$-1, %rax
	rolq	$5, (%rax)
	shr	%cl, %edx
	sar	$1, %ebx
	sete	%al
	cmovne	(%rax), %rcx
	ret
	.size	sys_mix, .-sys_mix

	.globl	branchy
	.type	branchy, @function
branchy:
	jmp	.Lfar
	.fill	200, 1, 0x90
.Lfar:	je	branchy
	jne	.Lnear
	ja	branchy
.Lnear:	jmp	branchy
	call	branchy
	call	sys_mix
	jmp	sys_mix
	jl	sys_mix
	ret
	.size	branchy, .-branchy
	.section .note.GNU-stack,"",@progbits
