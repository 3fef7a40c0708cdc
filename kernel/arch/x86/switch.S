/*
 * Kernel thread context switch. Only callee-saved registers need saving:
 * the switch is an ordinary function call from the scheduler's point of
 * view (System V AMD64 ABI 3.2.1), and kernel code uses no FPU/SSE state.
 */
#include <arch/x86/calleesaved.h>

	.text
	.globl context_switch, thread_boot

/* void context_switch(uint64_t *save_rsp, uint64_t new_rsp) */
context_switch:
	SAVE_CALLEE_SAVED
	movq %rsp, (%rdi)
	movq %rsi, %rsp
	RESTORE_CALLEE_SAVED
	ret

/* A new thread's first return lands here (see thread_create). */
thread_boot:
	call thread_start
	ud2
