/*
 * bench_parts: the pieces of the gate's work, each alone, for the `part`
 * lines of `maple-hosted bench --nop-wrpkru` (bench.c, docs/bench-xcall.md,
 * "Where the gate's cycles go"). Each is a function with no arguments that
 * the runtime times between its serialized TSC reads, as it times getppid:
 * the call through a pointer and the return are in every figure (the
 * `part call-return` line is them alone). The vector pieces are
 * ZERO_VECTORS's own sub-macros and the macro itself at each level, and the
 * pushes and pops are the gate's macros too (domain/gate_layout.h), not
 * copies; the atomics and RDTSC are the gate's instructions (gate.S) on
 * runtime memory. None writes PKRU.
 */
#define __ASSEMBLY__ 1 /* what domain/gate_layout.h tests; the kernel's flags define it */
#include "bench.h"

#include <domain/gate_layout.h>

.macro PART name
	.globl bench_part_\name
	.type bench_part_\name, @function
bench_part_\name:
.endm

	.text
PART call_return
	ret

/* ZERO_VECTORS at one level, as the gate runs it (%rsp on the runtime's
 * stack; the level in %rsi, since the macro uses %rax, %rcx and %rdx). */
.macro ZERO_VECTORS_PART name, level
PART zero_vectors_\name
	movq $\level, %rsi
	ZERO_VECTORS %rsi
	ret
.endm
	ZERO_VECTORS_PART sse, VECTORS_SSE
	ZERO_VECTORS_PART avx, VECTORS_AVX
	ZERO_VECTORS_PART avx512, VECTORS_AVX512
	ZERO_VECTORS_PART inuse, VECTORS_INUSE

PART x87
	ZERO_X87
	ret
PART mxcsr
	ZERO_MXCSR
	ret
PART xmm
	ZERO_XMM
	ret
PART vzeroall
	vzeroall
	ret
PART hi16_zmm
	ZERO_HI16_ZMM
	ret
PART opmask
	ZERO_OPMASK
	ret
PART xgetbv1
	movl $1, %ecx
	xgetbv
	ret

/*
 * The gate's four read-modify-writes of the domain table per call: the
 * callee's `active` up, the caller's `calls_out`, the callee's `calls`,
 * `active` down; on two entries of bench_part_domtab, as the gate's are on
 * two of the domain table.
 */
PART locked_rmw4
	leaq bench_part_domtab(%rip), %rcx
	lock incq PART_GD_ACTIVE+PART_GD_SIZE(%rcx)
	lock incq PART_GD_CALLS_OUT(%rcx)
	lock incq PART_GD_CALLS+PART_GD_SIZE(%rcx)
	lock decq PART_GD_ACTIVE+PART_GD_SIZE(%rcx)
	ret
PART plain_rmw4
	leaq bench_part_domtab(%rip), %rcx
	incq PART_GD_ACTIVE+PART_GD_SIZE(%rcx)
	incq PART_GD_CALLS_OUT(%rcx)
	incq PART_GD_CALLS+PART_GD_SIZE(%rcx)
	decq PART_GD_ACTIVE+PART_GD_SIZE(%rcx)
	ret

/* The watchdog's start time, as the gate stores it in the continuation. */
PART rdtsc
	rdtsc
	shlq $32, %rdx
	orq %rdx, %rax
	movq %rax, bench_part_domtab(%rip)
	ret

/* The caller's callee-saved registers, pushed at gate_start and popped at gate_resume. */
PART push_pop6
	PUSH_CALLEE_SAVED
	POP_CALLEE_SAVED
	ret

	.data
	.balign 64
bench_part_domtab:
	.fill 2 * PART_GD_SIZE, 1, 0

	.section .note.GNU-stack, "", @progbits
