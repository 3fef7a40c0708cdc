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
 */
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
	.section .note.GNU-stack, "", @progbits
