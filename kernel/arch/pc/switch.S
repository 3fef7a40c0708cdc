/*
 * Kernel thread context switch. Only callee-saved registers need saving:
 * the switch is an ordinary function call from the scheduler's point of
 * view (System V AMD64 ABI 3.2.1), and kernel code uses no FPU/SSE state.
 */
	.text
	.globl context_switch, thread_boot

/* void context_switch(uint64_t *save_rsp, uint64_t new_rsp) */
context_switch:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, (%rdi)
	movq %rsi, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret

/* A new thread's first return lands here (see thread_create). */
thread_boot:
	call thread_start
	ud2
