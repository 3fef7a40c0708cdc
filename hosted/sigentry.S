/*
 * The first instructions of the runtime's signal handlers when domains run
 * under their keys (entry.c). Linux enters a handler with its default PKRU
 * (init_pkru_value: every key but 0 access-disabled), whatever the
 * interrupted code held. The handlers run on an alternate stack that the
 * interrupted domain's rights can write (SHARED, see entry.c: kernels
 * before 6.12 write the signal frame with the interrupted PKRU), which
 * that default denies: so before anything touches the stack, these stubs
 * write the handlers' known rights, PKRU 0 (every key), and then jump to
 * the C handler with its three arguments untouched. The interrupted
 * rights are not lost: they are in the signal frame's XSAVE area, and
 * rt_sigreturn restores them from there exactly (a SIGSYS served for the
 * domain returns that way); a handler that leaves with siglongjmp instead
 * restores the runtime's own (entry_upcall).
 *
 * Also the handlers' one way back into a domain or the gate: the restorer
 * entry_sigreturn, below.
 */
#include "jump.h"

#include <asm/unistd.h>

	.text
.macro KEYED name, target
	.globl \name
	.type \name, @function
\name:
	movq %rdx, %r8			/* the ucontext: WRPKRU needs %ecx = %edx = 0 */
	xorl %eax, %eax
	xorl %ecx, %ecx
	xorl %edx, %edx
	wrpkru
	movq %r8, %rdx
	jmp \target
	.size \name, . - \name
.endm

	KEYED entry_keyed_fault, entry_on_fault
	KEYED entry_keyed_sigsys, entry_on_sigsys

/*
 * entry_sigreturn: the restorer of every handler of entry.c (installed
 * with SA_RESTORER): a handler's `ret` lands here, still with the
 * handler's rights (PKRU 0) and every signal blocked (the handlers'
 * sa_mask). The handlers are entered from domain or gate code only, so
 * this always returns to such code: it sets the thread's syscall user
 * dispatch selector to BLOCK and makes the rt_sigreturn, with the runtime's
 * secret in %rdi.
 *
 * THE INVARIANT (entry.c): the `syscall` below is the only one Linux lets
 * through while the selector says BLOCK (its address, entry_sigreturn_end,
 * is the dispatch's whole allowed region), and the seccomp filter lets it
 * through only as an rt_sigreturn whose %rdi is the secret. A domain that
 * jumps to it cannot have loaded the secret: it lies in key-0 memory, which
 * no domain's rights can read, and a domain that jumps to the load faults
 * there, at the first instruction. No signal can arrive between the load
 * and the `syscall` (all are
 * blocked), so no signal frame, on the SHARED signal stack, ever holds it;
 * rt_sigreturn then replaces %rdi with the frame's.
 */
	.globl entry_sigreturn
	.type entry_sigreturn, @function
entry_sigreturn:
	movq entry_sigreturn_token(%rip), %rdi
	movq entry_selector@gottpoff(%rip), %rax
	movq %fs:(%rax), %rax
	movb $SUD_BLOCK, (%rax)
	movl $__NR_rt_sigreturn, %eax
	syscall
	.globl entry_sigreturn_end
entry_sigreturn_end:			/* Linux answers a bad frame with SIGSEGV first */
	ud2
	.size entry_sigreturn, . - entry_sigreturn
	.section .note.GNU-stack, "", @progbits
