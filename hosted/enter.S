/*
 * hosted_enter(a0, a1, a2, a3, const struct hosted_jump *j): start j->fn(a0..a3)
 * on the stack j->rsp, whose top already holds the return address
 * MAPLE_GATE_RETURN_VA, as the VM's gate_upcall does with iretq. It first
 * sets the thread's syscall user dispatch selector to BLOCK (entry.c: from
 * here on every system call but the runtime's signal return is a SIGSYS),
 * then, with keys (j->keys), writes j->pkru, the domain's own rights, so
 * the domain's first instruction runs with them; every load of runtime
 * memory (key 0, which those rights deny) and the selector's store (its
 * page has key GATE_RO, which they make read-only) come before that WRPKRU. Every other
 * register is cleared so that no runtime address reaches the domain, and
 * so is the vector state (ZERO_VECTORS, domain/gate_layout.h, as much as
 * the thread's GATE_RO clear_vectors says: glibc's string functions leave
 * runtime data in %xmm and %ymm). It never returns: the gate's SYS_RETURN, or a fault, comes back to the
 * runtime through a signal (entry.c), which resumes the runtime with
 * siglongjmp.
 *
 * THE INVARIANT (ERIM's rule for a WRPKRU outside the gate): protection
 * keys do not govern instruction fetch, so a domain can jump straight to
 * the WRPKRU below with %eax of its choosing (0: every key) and then on to
 * the `jmp *%r11` of its choosing. So after it, as the gate's
 * LOWER_TO_EXPECTED does, the value written must be the rights the gate
 * expects of this thread (%gs:GATE_RO_EXPECTED_PKRU, on the thread's
 * GATE_RO page, which no domain can write and whose address no domain can
 * move: WRGSBASE is refused in every image and in the whole process,
 * hosted/audit.c, and arch_prctl never reaches Linux from a domain),
 * which hgate_upcall_push set to the entered domain's, and must deny key 0
 * (the runtime's) and TRUSTED as every domain's rights do; otherwise it
 * traps at hosted_pkru_violation (a real SIGILL, which fails the domain).
 * A domain that jumps here thus gets its own rights, no more.
 */
#define __ASSEMBLY__ 1 /* what domain/gate_layout.h tests; the kernel's flags define it */
#include "jump.h"

#include <domain/gate_layout.h>

	.text
	.globl hosted_enter
	.type hosted_enter, @function
hosted_enter:
	ZERO_VECTORS %gs:GATE_RO_CLEAR_VECTORS	/* on the runtime's stack */
	movq JUMP_RSP(%r8), %r9
	movq JUMP_FN(%r8), %r11
	movl JUMP_PKRU(%r8), %eax
	movq JUMP_KEYS(%r8), %r10
	movq JUMP_SELECTOR(%r8), %rbx
	movb $SUD_BLOCK, (%rbx)
	movq %r9, %rsp
	movq %rdx, %r8			/* a2, a3: WRPKRU needs %ecx = %edx = 0 */
	movq %rcx, %r9
	testq %r10, %r10
	jz 1f
	xorl %ecx, %ecx
	xorl %edx, %edx
	.globl hosted_enter_wrpkru
hosted_enter_wrpkru:
	wrpkru
	cmpl %gs:GATE_RO_EXPECTED_PKRU, %eax
	jne hosted_pkru_violation
	andl $PKRU_DOMAIN_DENIES, %eax
	cmpl $PKRU_DOMAIN_DENIES, %eax
	jne hosted_pkru_violation
1:
	movq %r8, %rdx
	movq %r9, %rcx
	xorl %eax, %eax
	xorl %ebx, %ebx
	xorl %ebp, %ebp
	xorl %r8d, %r8d
	xorl %r9d, %r9d
	xorl %r10d, %r10d
	xorl %r12d, %r12d
	xorl %r13d, %r13d
	xorl %r14d, %r14d
	xorl %r15d, %r15d
	jmpq *%r11
	.size hosted_enter, . - hosted_enter

/*
 * Where each of the runtime's PKRU writes goes when the check after it
 * fails (here, sigentry.S, wrpkru_pair.S): a domain jumped to it. The #UD
 * is an ordinary SIGILL, handled with the handler's own rights, and fails
 * the domain: `<domain> failed: SIGILL at <this address>`.
 */
	.globl hosted_pkru_violation
	.type hosted_pkru_violation, @function
hosted_pkru_violation:
	ud2
	.size hosted_pkru_violation, . - hosted_pkru_violation
	.section .note.GNU-stack, "", @progbits
