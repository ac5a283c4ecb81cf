# Hand-written COMDAT groups and a non-COMDAT group, assembled with as.
	.section .text.grp_a,"axG",@progbits,grp_a,comdat
	.globl grp_a
	.type grp_a, @function
grp_a:
	call grp_b
	ret
	.size grp_a, .-grp_a

	.section .data.grp_a,"awG",@progbits,grp_a,comdat
	.globl grp_a_data
grp_a_data:
	.quad grp_a
	.quad grp_b + 8

	.section .text.grp_b,"axG",@progbits,grp_b,comdat
	.globl grp_b
	.type grp_b, @function
grp_b:
	jmp grp_a
	.size grp_b, .-grp_b

	.section .text.plain_group,"axG",@progbits,plain_sig
	.globl plain_sig
plain_sig:
	ret

	.text
	.globl outside
outside:
	call grp_a
	ret
