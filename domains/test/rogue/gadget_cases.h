/*
 * rogue's cases against maple-hosted's own PKRU writes (domains/test/rogue/
 * gadget.c), numbers 190-199 of its run(case, target, a2, a3) method
 * (cases.h): protection keys do not govern instruction fetch, so a domain
 * can jump to any WRPKRU in the process with registers of its choosing.
 * Each case jumps to one, with %eax = %ecx = %edx = 0 (PKRU 0: every key),
 * and, should the runtime's code go on with those rights and come back to
 * rogue, stores ROGUE_SCRIBBLE at a2 (a TRUSTED word) and returns
 * ROGUE_NOT_CONTAINED. In the VM the only WRPKRUs are the gate's, so they
 * mean something on the linux platform only (hosted/tests_escape.c). Plain
 * numbers, so hosted/tests_escape.c can include them.
 */
#ifndef DOMAINS_ROGUE_GADGET_CASES_H
#define DOMAINS_ROGUE_GADGET_CASES_H

#include <stdint.h>

#define ROGUE_LINUX_SIGSYS	      31 /* x86-64 Linux's SIGSYS */
#define ROGUE_LINUX_SYS_USER_DISPATCH 2	 /* its si_code from syscall user dispatch */
#define ROGUE_AUDIT_ARCH_X86_64	      0xc000003eu

enum rogue_gadget_case {
	ROGUE_G_FIRST = 190,
	/* Jump to target, the WRPKRU of the runtime's domain entry
	 * (hosted_enter), which then jumps to %r11: rogue's own label. */
	ROGUE_G_ENTER_WRPKRU = 190,
	/* Jump to target, the WRPKRU of a signal handler's entry stub
	 * (sigentry.S), as Linux would enter it for a SIGSYS (%edi), with
	 * %rsp, %rsi and %rdx (%r8 across the WRPKRU) a SIGSYS frame rogue
	 * forged below a3 (0: in rogue's own memory; else the top of the
	 * thread's signal stack, SHARED memory rogue may write): a SYS_NULL
	 * from rogue's own code whose return address and resumed %rip are the
	 * label, and whose XSAVE area holds PKRU 0. */
	ROGUE_G_SIGSYS_ENTRY = 191,
	ROGUE_G_END
};

/* rogue's own (domains/test/rogue/gadget.c): run() hands it these cases. */
long rogue_gadget_case(long number, uint64_t target, uint64_t a2, uint64_t a3);

#endif
