/*
 * rogue's cases against maple-hosted's trusted entry (domains/test/rogue/
 * escape.c), numbers 180-189 of its run(case, target, a2, a3) method
 * (cases.h): a domain that jumps to a `syscall` instruction in the
 * runtime's own code (protection keys do not govern instruction fetch), to
 * make a Linux system call from an address the runtime's own calls use, or
 * an rt_sigreturn through a signal frame it forged. In the VM a `syscall`
 * anywhere is a Maple syscall, so they mean something on the linux platform
 * only (hosted/tests_escape.c). Plain numbers, so hosted/tests_escape.c can
 * include them.
 */
#ifndef DOMAINS_ROGUE_ESCAPE_CASES_H
#define DOMAINS_ROGUE_ESCAPE_CASES_H

#include <stdint.h>

#define ROGUE_LINUX_RT_SIGRETURN 15 /* x86-64 Linux's rt_sigreturn */

enum rogue_escape_case {
	ROGUE_E_FIRST = 180,
	/* Call target, a `syscall` instruction followed by `ret` (glibc's
	 * getpid has one), with %eax = a2, a Linux system call number: what
	 * %rax held when it came back (getpid: the host process's pid). */
	ROGUE_E_CALL_SYSCALL = 180,
	/* Forge a signal frame in rogue's own memory whose XSAVE area holds
	 * PKRU 0 (every key; no XSAVE area where XCR0 has no PKRU component),
	 * whose %rip is a label that stores ROGUE_SCRIBBLE at a2 and returns
	 * ROGUE_NOT_CONTAINED and whose %rsp is rogue's own; then jump to
	 * target, a `syscall` instruction, with %eax = rt_sigreturn and %rdi =
	 * a3. An rt_sigreturn that Linux obeys gives rogue every key. */
	ROGUE_E_FORGED_SIGRETURN = 181,
	ROGUE_E_END
};

/* rogue's own (domains/test/rogue/escape.c): run() hands it these cases. */
long rogue_escape_case(long number, uint64_t target, uint64_t a2, uint64_t a3);

#endif
