/*
 * Saving and restoring the System V callee-saved registers (ABI 3.2.1), in
 * one order, for code that resumes a kernel context elsewhere: thread
 * switches (switch.S) and returns from upcalls (upcall.S). Assembly only.
 */
#ifndef ARCH_PC_CALLEESAVED_H
#define ARCH_PC_CALLEESAVED_H

/* clang-format off */
.macro SAVE_CALLEE_SAVED
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
.endm

.macro RESTORE_CALLEE_SAVED
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
.endm
/* clang-format on */

#endif
