/*
 * hosted_enter(a0, a1, a2, a3, fn, rsp): start fn(a0..a3) on its own stack,
 * whose top already holds the return address MAPLE_GATE_RETURN_VA, as the
 * VM's gate_upcall does with iretq. Every other register is cleared so
 * that no runtime address reaches the domain. It never returns: the gate's
 * SYS_RETURN, or a fault, comes back to the runtime through a signal
 * (entry.c), which resumes the runtime with siglongjmp.
 */
	.text
	.globl hosted_enter
	.type hosted_enter, @function
hosted_enter:
	movq %r9, %rsp
	movq %r8, %r11
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
	.section .note.GNU-stack, "", @progbits
