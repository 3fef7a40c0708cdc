/*
 * Entering ring 3 for an upcall and coming back (arch/x86/usermode.h). The
 * kernel context is a setjmp-style save of the callee-saved registers on
 * the kernel stack; ring-3 entries during the upcall land below it
 * (upcall_set_entry), so the saved frame survives until upcall_resume.
 */
#include <arch/x86/calleesaved.h>
#include <arch/x86/layout.h>
#include <arch/x86/usermode.h>

	.text
	.globl upcall_enter, upcall_resume

/* long upcall_enter(struct upcall_ctx *ctx, const struct user_entry *e, uint32_t pkru) */
upcall_enter:
	SAVE_CALLEE_SAVED
	movq %rsp, (%rdi)
	movq %rsi, %r12
	movl %edx, %r13d
	cli				/* no migration between here and the iretq */
	movq %rsp, %rdi
	andq $-16, %rdi
	call upcall_set_entry
	movl %r13d, %eax
	xorl %ecx, %ecx
	xorl %edx, %edx
	wrpkru
	pushq $GDT_UDATA
	pushq UE_RSP(%r12)
	pushq $0x202			/* IF, and the always-one bit */
	pushq $GDT_UCODE
	pushq UE_RIP(%r12)
	movq UE_ARGS(%r12), %rdi
	movq UE_ARGS+8(%r12), %rsi
	movq UE_ARGS+16(%r12), %rdx
	movq UE_ARGS+24(%r12), %rcx
	/* No kernel values leak into the domain. */
	xorl %eax, %eax
	xorl %ebx, %ebx
	xorl %ebp, %ebp
	xorl %r8d, %r8d
	xorl %r9d, %r9d
	xorl %r10d, %r10d
	xorl %r11d, %r11d
	xorl %r12d, %r12d
	xorl %r13d, %r13d
	xorl %r14d, %r14d
	xorl %r15d, %r15d
	swapgs				/* the thread's user GS base (its gate page) */
	iretq

/* void upcall_resume(struct upcall_ctx *ctx, long value): upcall_enter returns value. */
upcall_resume:
	movq %rsi, %rax
	movq (%rdi), %rsp
	RESTORE_CALLEE_SAVED
	ret
