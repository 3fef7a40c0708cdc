/*
 * The cross-domain call gate (DESIGN.md §5). This page is linked into the
 * kernel but runs in ring 3: the kernel maps it again, user-executable, at
 * MAPLE_GATE_VA, and domain images can contain no WRPKRU, so this is the
 * only code in the system that changes a domain's rights. The calling
 * thread migrates into the callee; nothing enters the kernel on the fast
 * path.
 *
 * ERIM discipline (Vahldiek-Oberwagner et al., USENIX Security 2019): each
 * WRPKRU is followed by a check of the value written against the thread's
 * expected-PKRU word in its GATE_RO page, which only the gate writes. So
 * jumping straight to any WRPKRU here with a chosen %eax either fails the
 * check (and the ud2 fails the jumping domain) or grants the rights the
 * thread already had, plus TRUSTED for the rest of the gate's own checked
 * path, which then does no more than a proper call would.
 *
 * Position-independent: only relative branches and absolute constants.
 */
#include <core/gate_layout.h>
#include <maple/rref_abi.h>

/*
 * Add TRUSTED (read-write) and GATE_RO (write) to the rights the thread
 * holds now. The gate keeps the current domain's own rights because it
 * must read the caller's return address off the caller's stack. The check
 * recomputes the value from the thread's expected-PKRU word: a jump to the
 * WRPKRU with any other %eax fails it.
 */
.macro RAISE_TO_GATE
	movl %gs:GT_EXPECTED_PKRU, %eax
	andl $PKRU_GATE_RAISE, %eax
	xorl %ecx, %ecx
	xorl %edx, %edx
	wrpkru
	movl %gs:GT_EXPECTED_PKRU, %ecx
	andl $PKRU_GATE_RAISE, %ecx
	cmpl %ecx, %eax
	jne violation
.endm

/*
 * WRPKRU to %eax, which must be the thread's expected PKRU: the check
 * fails anyone who jumped to this WRPKRU with other rights in %eax.
 */
.macro LOWER_TO_EXPECTED
	xorl %ecx, %ecx
	xorl %edx, %edx
	wrpkru
	cmpl %gs:GT_EXPECTED_PKRU, %eax
	jne violation
.endm

/* The caller's callee-saved registers from the continuation at \cont
 * (%r14 last, since \cont may be %r14). */
.macro RESTORE_CALLER_REGS cont
	movq CONT_RBX(\cont), %rbx
	movq CONT_RBP(\cont), %rbp
	movq CONT_R12(\cont), %r12
	movq CONT_R13(\cont), %r13
	movq CONT_R15(\cont), %r15
	movq CONT_R14(\cont), %r14
.endm

	.section .gate, "ax"
	.balign 4096
	.globl gate_start, gate_xcall_checked

/*
 * long maple_xcall(handle %rdi, method %rsi, a0 %rdx, a1 %rcx, a2 %r8, a3 %r9)
 * at MAPLE_GATE_XCALL_VA.
 */
gate_start:
	movq %rdx, %r10			/* a0, a1: WRPKRU needs %ecx = %edx = 0 */
	movq %rcx, %r11
	RAISE_TO_GATE
	movq %rsi, %gs:GT_SCRATCH	/* the method word, for the continuation */
	andl $XCALL_METHOD_MASK, %esi

	/* Is the callee a running domain with this method? */
	movq %rdi, %rax
	andl $HANDLE_ID_MASK, %eax
	jz err_srch
	cmpq $GATE_MAX_DOMAINS, %rax
	jae err_srch
	imulq $GD_SIZE, %rax, %rax
	movabsq $GATE_DOMTAB_VA, %rcx
	addq %rcx, %rax
	movq %rdi, %rcx
	shrq $HANDLE_GEN_SHIFT, %rcx
	cmpq GD_GEN(%rax), %rcx
	jne err_dead
	cmpq $GATE_DOMAIN_RUNNING, GD_STATE(%rax)
	jne err_dead
	cmpq GD_NMETHODS(%rax), %rsi
	jae err_srch

	/* This thread's stack in the callee; the kernel makes one the first time. */
	andl $HANDLE_ID_MASK, %edi
	movq %gs:GT_TRUSTED, %rcx
	cmpq $0, GTT_DOMAIN_SP(%rcx, %rdi, 8)
	jne 1f
	pushq %rax
	pushq %rdi
	pushq %rsi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	movl $SYS_GATE_STACK, %eax	/* %rdi = callee id */
	syscall
	movq %rax, %rdx
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rsi
	popq %rdi
	popq %rax
	testq %rdx, %rdx
	js err_nomem
	movq %gs:GT_TRUSTED, %rcx
1:
	/* Room for a continuation? */
	movq GTT_CONT_TOP(%rcx), %rdx
	cmpq %gs:GT_DEPTH_LIMIT, %rdx
	jae err_nomem

	/* Push the continuation: everything needed to return, or to unwind. */
	movq %rbx, CONT_RBX(%rdx)
	movq %rbp, CONT_RBP(%rdx)
	movq %r12, CONT_R12(%rdx)
	movq %r13, CONT_R13(%rdx)
	movq %r14, CONT_R14(%rdx)
	movq %r15, CONT_R15(%rdx)
	movq %rax, %r15			/* the callee's domain-table entry */
	movq %rdx, %r14			/* the continuation */
	movq $CONT_XCALL, CONT_KIND(%r14)
	movq %gs:GT_DOMAIN, %rbx	/* caller id */
	movq %rbx, CONT_CALLER(%r14)
	movq %rdi, CONT_CALLEE(%r14)
	movq %gs:GT_EXPECTED_PKRU, %r12
	movq %r12, CONT_CALLER_PKRU(%r14)
	movq (%rsp), %r12
	movq %r12, CONT_RETURN_RIP(%r14)
	leaq 8(%rsp), %r12
	movq %r12, CONT_CALLER_RSP(%r14)
	movq GTT_DOMAIN_SP(%rcx, %rbx, 8), %r12
	movq %r12, CONT_CALLER_SP(%r14)
	/* A call back into the caller (or into itself) must start below its
	 * live frames; set that before reading the callee's stack. */
	movq %rsp, %r12
	andq $-16, %r12
	movq %r12, GTT_DOMAIN_SP(%rcx, %rbx, 8)
	movq GTT_DOMAIN_SP(%rcx, %rdi, 8), %r13	/* callee stack */
	movq %r13, CONT_CALLEE_SP(%r14)
	rdtsc
	shlq $32, %rdx
	orq %rdx, %rax
	movq %rax, CONT_START_TSC(%r14)

	/* The method word and arguments, for RRef transfers both ways: the
	 * caller must own what it moves or lends (rref.gate.c). */
	movq %gs:GT_SCRATCH, %r12
	movq %r12, CONT_WORD(%r14)
	movq %r10, CONT_ARGS(%r14)
	movq %r11, CONT_ARGS+8(%r14)
	movq %r8, CONT_ARGS+16(%r14)
	movq %r9, CONT_ARGS+24(%r14)
	testq $XCALL_RREF_BITS, %r12
	jz 2f
	movq %r14, %rdi
	subq $8, %rsp			/* a 16-byte aligned call */
	call gate_rref_in
	addq $8, %rsp
	testq %rax, %rax
	jnz rref_refused
	movq CONT_CALLEE(%r14), %rdi
	movq CONT_WORD(%r14), %rsi
	andl $XCALL_METHOD_MASK, %esi
	movq CONT_ARGS(%r14), %r10
	movq CONT_ARGS+8(%r14), %r11
	movq CONT_ARGS+16(%r14), %r8
	movq CONT_ARGS+24(%r14), %r9
	movq %gs:GT_TRUSTED, %rcx
2:
	movabsq $GATE_DOMTAB_VA, %rax
	imulq $GD_SIZE, %rbx, %r12
	lock incq GD_CALLS_OUT(%rax, %r12)
	leaq CONT_SIZE(%r14), %r12
	movq %r12, GTT_CONT_TOP(%rcx)

	lock incq GD_ACTIVE(%r15)
	lock incq GD_CALLS(%r15)
	movq GD_METHODS(%r15, %rsi, 8), %rbx	/* target */
	movq GD_PKRU(%r15), %rbp
	movq %rdi, %gs:GT_DOMAIN
	movq %rbp, %gs:GT_EXPECTED_PKRU

	/* Into the callee: its stack, its rights, its method. */
	movq %r13, %rsp
	movq %r10, %rdi
	movq %r11, %rsi
	movl %ebp, %eax
	xorl %ecx, %ecx
	xorl %edx, %edx
	wrpkru
gate_xcall_checked:
	cmpl %gs:GT_EXPECTED_PKRU, %eax
	jne violation
	movq %r8, %rdx
	movq %r9, %rcx
	xorl %ebp, %ebp			/* callee backtraces end here */
	call *%rbx

	/* Back from the callee, result in %rax, still with its rights. */
	movq %rax, %r10
	RAISE_TO_GATE
	movq %gs:GT_TRUSTED, %rcx
	movq GTT_CONT_TOP(%rcx), %rdx
	subq $CONT_SIZE, %rdx
	leaq GTT_CONTS(%rcx), %r8
	cmpq %r8, %rdx
	jb violation
	/* Only the callee's own call may end here. */
	cmpq $CONT_XCALL, CONT_KIND(%rdx)
	jne violation
	movq CONT_CALLEE(%rdx), %r12
	cmpq %gs:GT_DOMAIN, %r12
	jne violation
	movq %rdx, GTT_CONT_TOP(%rcx)
	imulq $GD_SIZE, %r12, %r8
	movabsq $GATE_DOMTAB_VA, %r9
	lock decq GD_ACTIVE(%r8, %r9)
	testq $XCALL_RREF_BITS, CONT_WORD(%rdx)
	jz 3f
	movq %rdx, %rdi
	movq %r10, %rsi
	call gate_rref_out		/* the callee's stack is 16-byte aligned here */
	movq %rax, %r10
	movq %gs:GT_TRUSTED, %rcx
	movq GTT_CONT_TOP(%rcx), %rdx
3:
	movq CONT_CALLEE_SP(%rdx), %r8
	movq %r8, GTT_DOMAIN_SP(%rcx, %r12, 8)
	movq CONT_CALLER(%rdx), %r9
	movq CONT_CALLER_SP(%rdx), %r8
	movq %r8, GTT_DOMAIN_SP(%rcx, %r9, 8)
	movq %r9, %gs:GT_DOMAIN
	movq CONT_CALLER_PKRU(%rdx), %rax
	movq %rax, %gs:GT_EXPECTED_PKRU
	movq CONT_CALLER_RSP(%rdx), %rsp
	movq CONT_RETURN_RIP(%rdx), %r11
	RESTORE_CALLER_REGS %rdx
	LOWER_TO_EXPECTED
	movq %r10, %rax
	jmp *%r11

/* The caller may not move or lend those RRefs: undo the continuation. */
rref_refused:
	movq %rax, %r10
	movq %gs:GT_TRUSTED, %rcx
	movq CONT_CALLER_SP(%r14), %r12
	movq %r12, GTT_DOMAIN_SP(%rcx, %rbx, 8)
	RESTORE_CALLER_REGS %r14
	jmp fail

/* Failures before anything was pushed: back to the caller's rights. */
err_srch:
	movq $-MAPLE_ESRCH, %r10
	jmp fail
err_dead:
	movq $-MAPLE_EDEAD, %r10
	jmp fail
err_nomem:
	movq $-MAPLE_ENOMEM, %r10
fail:
	movq %gs:GT_EXPECTED_PKRU, %rax
	LOWER_TO_EXPECTED
	movq %r10, %rax
	ret

/* A check failed: someone jumped into the gate. #UD fails the domain. */
violation:
	ud2

/*
 * Fault-injection stubs: `inject DOMAIN FAULT` points a thread running in
 * the domain here, so it takes a real CPU exception with its own rights.
 */
	.globl gate_fault_pf, gate_fault_gp, gate_fault_ud, gate_fault_de, gate_fault_pk
gate_fault_pf:
	movq 0, %rax
gate_fault_gp:
	movabsq $0x8000000000000000, %rax
	movq (%rax), %rax
gate_fault_ud:
	ud2
gate_fault_de:
	xorl %ecx, %ecx
	divl %ecx
gate_fault_pk:
	movabsq $GATE_DOMTAB_VA, %rax
	movq (%rax), %rax
	ud2

/*
 * MAPLE_GATE_RETURN_VA: where a domain thread's first function, or a method
 * the kernel called, returns to. The kernel takes it from here.
 */
	.org gate_start + (MAPLE_GATE_RETURN_VA - MAPLE_GATE_VA), 0xcc
	movq %rax, %rdi
	movl $SYS_RETURN, %eax
	syscall
	ud2

