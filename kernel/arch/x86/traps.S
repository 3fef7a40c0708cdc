/*
 * Interrupt and exception entry. One 16-byte stub per vector makes the stack
 * uniform (an error code of 0 where the CPU pushes none, then the vector);
 * a common entry saves the general registers into a struct trap_frame
 * (traps.h), switches GS to the kernel's when the trap came from ring 3,
 * calls trap_dispatch(frame), and returns with iretq.
 *
 * NMI, #DF and #MC arrive on their own IST stacks at any point, even
 * between a swapgs and the iretq or sysret after it, so for them the saved
 * CS says nothing about GS: their entry reads the GS base MSR instead.
 */
#include <arch/x86/layout.h>
#include <arch/x86/percpu.h>
#include <arch/x86/traps.h>

#define MSR_GS_BASE 0xc0000101

/* Vectors for which the CPU pushes an error code (Intel SDM Vol. 3A 6.13 and
 * Table 6-1; 29 and 30 per the AMD APM Vol. 2, 8.2). */
#define HAS_ERROR_CODE(v) \
	((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)
#define PARANOID(v) ((v) == T_NMI || (v) == T_DF || (v) == T_MC)

	.text
	.balign 16
	.globl trap_stubs
trap_stubs:
	.set vec, 0
	.rept T_VECTORS
	/* .org cannot move backwards: a stub over 16 bytes fails the build. */
	.org trap_stubs + 16 * vec, 0xcc
	.ifeq HAS_ERROR_CODE(vec)
	pushq $0
	.endif
	pushq $vec
	.if PARANOID(vec)
	jmp trap_paranoid
	.else
	jmp trap_common
	.endif
	.set vec, vec + 1
	.endr
	.org trap_stubs + 16 * T_VECTORS, 0xcc

.macro SAVE_REGS
	cld			/* the C ABI wants DF clear; ring 3 may have set it */
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
.endm

.macro RESTORE_REGS
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp		/* vector and error code */
.endm

/*
 * Call trap_dispatch(frame) with a frame record (interrupted rbp, rip + 1)
 * on top, so that backtraces taken inside run on into the interrupted code
 * (they symbolize return address - 1, which is then the interrupted
 * instruction). The trap frame is 16-byte aligned (traps.h); so is the record.
 */
.macro CALL_DISPATCH
	movq %rsp, %rdi
	movq TF_RIP(%rdi), %rax
	incq %rax
	pushq %rax
	pushq %rbp
	movq %rsp, %rbp
	call trap_dispatch
	addq $16, %rsp
.endm

trap_common:
	SAVE_REGS
	testb $3, TF_CS(%rsp)
	jnz 1f
	/* From ring 0: GS is already the kernel's, unless the iretq back to
	 * ring 3 faulted after its swapgs (bad user segment or RIP). */
	leaq trap_iret_user(%rip), %rax
	cmpq %rax, TF_RIP(%rsp)
	jne 2f
1:	swapgs			/* SDM Vol. 2B, SWAPGS */
2:	CALL_DISPATCH
	/* Nothing may interrupt between the swapgs and the iretq below. */
	cli
	testb $3, TF_CS(%rsp)
	jz 3f
	.globl trap_exit_user
trap_exit_user:
	RESTORE_REGS
	swapgs
	.globl trap_iret_user
trap_iret_user:
	iretq			/* SDM 6.14.3 */
3:	RESTORE_REGS
	iretq

trap_paranoid:
	SAVE_REGS
	/* Kernel GS bases (struct cpu) lie in the top half; %ebx remembers
	 * whether to swap back (it is callee-saved, and restored from the frame
	 * on return). */
	movl $MSR_GS_BASE, %ecx
	rdmsr
	xorl %ebx, %ebx
	testl %edx, %edx
	js 1f
	swapgs
	movl $1, %ebx
1:	CALL_DISPATCH
	testl %ebx, %ebx
	jz 2f
	swapgs
2:	RESTORE_REGS
	iretq

/*
 * SYSCALL from a domain (SDM Vol. 3A 5.8.8): %rcx = user rip, %r11 = user
 * rflags, still on the user stack with the user GS. Build the same trap
 * frame as an interrupt from ring 3 would, so that unwinding can rewrite it
 * the same way, and leave through the common iretq path.
 */
	.globl syscall_entry
syscall_entry:
	swapgs
	movq %rsp, %gs:CPU_USER_RSP
	movq %gs:CPU_KERNEL_RSP, %rsp
	pushq $GDT_UDATA
	pushq %gs:CPU_USER_RSP
	pushq %r11
	pushq $GDT_UCODE
	pushq %rcx
	pushq $0			/* error code */
	pushq $T_SYSCALL		/* "vector" */
	SAVE_REGS
	movq %rsp, %rdi
	pushq TF_RIP(%rdi)
	pushq %rbp
	movq %rsp, %rbp
	sti
	call syscall_dispatch
	cli
	addq $16, %rsp
	jmp trap_exit_user
