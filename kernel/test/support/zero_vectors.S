/*
 * zero_vectors_after(level, area, rfbm, fill): for test_zero_vectors.c,
 * loads ZV_SECRET into the vector state `fill` names (ZV_FILL_*), runs the
 * gate's ZERO_VECTORS at `level` (domain/gate_layout.h), then XSAVEs the
 * components `rfbm` names into `area` (64-byte aligned, zeroed by the
 * caller), all in one function so that no compiled code touches a vector
 * register between them. Clobbers only what the SysV ABI lets a callee
 * clobber; ZERO_VECTORS leaves MXCSR and the x87 control word at their
 * defaults. zero_vectors_private_after is the same with ZERO_MXCSR_PRIVATE,
 * as the gate runs it on its own stack at the callee's entry.
 */
#define __ASSEMBLY__ 1 /* what domain/gate_layout.h tests */
#include "zero_vectors.h"

#include <domain/gate_layout.h>

.macro ZERO_VECTORS_AFTER name, mxcsr
	.text
	.globl \name
	.type \name, @function
\name:
	movq %rdx, %r8			/* rfbm */
	movq %rsi, %r9			/* area */
	testq $ZV_FILL_MXCSR, %rcx	/* first: VZEROALL leaves it (XINUSE does not track it) */
	jz 1f
	pushq $ZV_MXCSR_SECRET
	ldmxcsr (%rsp)
	popq %rax
1:	testq $ZV_FILL_TILECFG, %rcx
	jz 1f
	ldtilecfg zv_tilecfg(%rip)
1:	movabsq $ZV_SECRET, %rax
	testq $ZV_FILL_VZEROALL, %rcx
	jz 1f
	vzeroall			/* SSE, AVX and ZMM_Hi256 back to their init state */
1:	testq $ZV_FILL_X87, %rcx
	jz 1f
	pushq %rax
	fildq (%rsp)
	fildq (%rsp)
	popq %rax
1:	testq $ZV_FILL_XMM, %rcx
	jz 1f
	movq %rax, %xmm0
	punpcklqdq %xmm0, %xmm0
	.irp r, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	movdqa %xmm0, %xmm\r
	.endr
1:	testq $ZV_FILL_YMM, %rcx
	jz 1f
	.irp r, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	vinsertf128 $1, %xmm0, %ymm0, %ymm\r
	.endr
1:	testq $ZV_FILL_ZMM, %rcx
	jz 1f
	.irp r, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	vpbroadcastq %rax, %zmm\r
	.endr
	.irp r, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	vpbroadcastq %rax, %zmm\r
	.endr
	.irp r, 0, 1, 2, 3, 4, 5, 6, 7
	kmovw %eax, %k\r
	.endr
1:	ZERO_VECTORS %rdi, \mxcsr
	movl %r8d, %eax
	movq %r8, %rdx
	shrq $32, %rdx
	xsave (%r9)
	ret
	.size \name, . - \name
.endm

	ZERO_VECTORS_AFTER zero_vectors_after, ZERO_MXCSR
	ZERO_VECTORS_AFTER zero_vectors_private_after, ZERO_MXCSR_PRIVATE

/* A valid palette-1 configuration (Intel SDM Vol. 2, LDTILECFG: each tile's
 * bytes per row at most 64 and rows at most 16, both zero or neither):
 * the shapes a domain could leave for the next one to read with STTILECFG. */
	.section .rodata
	.balign 64
zv_tilecfg:
	.byte 1, 0			/* palette 1, start_row 0 */
	.fill 14, 1, 0
	.short 4, 8, 12, 16, 20, 24, 28, 32	/* colsb of tmm0-7 */
	.fill 16, 1, 0
	.byte 1, 2, 3, 4, 5, 6, 7, 8	/* rows of tmm0-7 */
	.fill 8, 1, 0

	.section .note.GNU-stack, "", @progbits
