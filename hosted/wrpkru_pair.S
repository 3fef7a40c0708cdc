/*
 * hosted_wrpkru_pair(): two WRPKRUs of the runtime's current rights, the
 * `wrpkru-pair` row of bench/xcall --hosted (hosted/bench.c), which times
 * what a switch of rights costs.
 *
 * THE INVARIANT (ERIM's rule for a WRPKRU outside the gate): a domain can
 * jump straight to either WRPKRU with %eax = 0 (every key), which is also
 * the value the runtime itself writes, so the value cannot tell them
 * apart. Who runs can: domain and gate code run only with this thread's
 * syscall user dispatch selector at BLOCK, which no domain can write
 * (entry.c, THE INVARIANT), and the runtime only with ALLOW, or before
 * the thread has a selector at all (entry_selector NULL), when no domain
 * can have run in it. After each WRPKRU the selector is read (with the
 * rights just written: a jumper's PKRU 0 reads it too) and anything but
 * that traps at hosted_pkru_violation.
 */
#include "jump.h"

.macro RUNTIME_RUNS
	movq entry_selector@gottpoff(%rip), %rcx
	movq %fs:(%rcx), %rcx
	testq %rcx, %rcx
	jz 1f
	cmpb $SUD_ALLOW, (%rcx)
	jne hosted_pkru_violation
1:
.endm

	.text
	.globl hosted_wrpkru_pair
	.type hosted_wrpkru_pair, @function
hosted_wrpkru_pair:
	xorl %ecx, %ecx			/* RDPKRU and WRPKRU need %ecx = 0, WRPKRU %edx = 0 */
	rdpkru
	movl %eax, %esi
	xorl %ecx, %ecx
	xorl %edx, %edx
	.globl hosted_wrpkru_pair_first
hosted_wrpkru_pair_first:
	wrpkru
	RUNTIME_RUNS
	movl %esi, %eax
	xorl %ecx, %ecx
	xorl %edx, %edx
	.globl hosted_wrpkru_pair_second
hosted_wrpkru_pair_second:
	wrpkru
	RUNTIME_RUNS
	ret
	.size hosted_wrpkru_pair, . - hosted_wrpkru_pair
	.section .note.GNU-stack, "", @progbits
