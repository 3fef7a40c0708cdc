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
 * The gate's four read-modify-writes per call: the callee's `active` up
 * and down (LOCKed: every thread entering the domain writes it), the
 * caller's `calls_out` and the callee's `calls` in the calling thread's
 * own TRUSTED page (plain: only that thread writes them, gate_layout.h),
 * on two entries of bench_part_domtab and of bench_part_trusted as the
 * gate's are on two of the domain table and of the thread's page. gate-rmw4
 * is the gate now, locked-rmw4 the gate before (every one LOCKed),
 * plain-rmw4 none.
 */
PART gate_rmw4
	leaq bench_part_domtab(%rip), %rcx
	leaq bench_part_trusted(%rip), %rdx
	lock incq PART_GD_ACTIVE+PART_GD_SIZE(%rcx)
	incq PART_GTT_CALLS_OUT(%rdx)
	incq PART_GTT_CALLS+8(%rdx)
	lock decq PART_GD_ACTIVE+PART_GD_SIZE(%rcx)
	ret
PART locked_rmw4
	leaq bench_part_domtab(%rip), %rcx
	leaq bench_part_trusted(%rip), %rdx
	lock incq PART_GD_ACTIVE+PART_GD_SIZE(%rcx)
	lock incq PART_GTT_CALLS_OUT(%rdx)
	lock incq PART_GTT_CALLS+8(%rdx)
	lock decq PART_GD_ACTIVE+PART_GD_SIZE(%rcx)
	ret
PART plain_rmw4
	leaq bench_part_domtab(%rip), %rcx
	leaq bench_part_trusted(%rip), %rdx
	incq PART_GD_ACTIVE+PART_GD_SIZE(%rcx)
	incq PART_GTT_CALLS_OUT(%rdx)
	incq PART_GTT_CALLS+8(%rdx)
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
	.balign 64
bench_part_trusted:
	.fill PART_GTT_CALLS_OUT + 8 * GATE_MAX_DOMAINS, 1, 0

	.section .note.GNU-stack, "", @progbits
