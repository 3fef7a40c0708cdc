/*
 * The cross-domain call gate (DESIGN.md §5). This page is linked into the
 * kernel but runs in ring 3: the kernel maps it again, user-executable, at
 * MAPLE_GATE_VA, and domain images can contain no WRPKRU, so this is the
 * only code in the system that changes a domain's rights. The calling
 * thread migrates into the callee; nothing enters the kernel on the fast
 * path.
 *
 * THE INVARIANT: with raised rights (PKRU_GATE: TRUSTED and GATE_RO
 * writable), no load or store goes through an address that came from a
 * register or from memory a domain controls, except after a check that it
 * lies in that domain's own regions. The gate needs no such check today:
 * raised, it addresses only
 *   - %gs:offset, the thread's GATE_RO page (the GS base is the kernel's:
 *     CR4.FSGSBASE is off, and a %gs load from ring 3 zeroes the base,
 *     where nothing is mapped);
 *   - the gate stack, whose top is read from that page (GT_GATE_STACK) by
 *     the instruction right after the raising WRPKRU and its check;
 *   - the thread's TRUSTED pages, at addresses read from that page or
 *     computed from them with bounded indices (domain ids below
 *     GATE_MAX_DOMAINS, the continuation top checked against the page):
 *     its continuations, its stack pointers in each domain and its own
 *     counts of the calls it made into and out of each domain;
 *   - the domain table at a constant address with a checked id;
 *   - and, in rref.gate.c, the RRef header table at a constant address
 *     with a checked index (it runs on the gate stack).
 * Everything that touches a domain's memory runs with that domain's own
 * rights: the caller's callee-saved registers and its return address are
 * pushed and popped on the caller's stack with the caller's rights (a bad
 * %rsp faults as the caller), the caller's %rsp is carried through the
 * gate only as a value, and the callee's return address is pushed by a
 * `call` made after the WRPKRU to the callee's rights. SHARED and every
 * domain key are denied to PKRU_GATE, so a slip faults rather than
 * reaching a domain.
 *
 * ERIM discipline (Vahldiek-Oberwagner et al., USENIX Security 2019): each
 * WRPKRU is followed by a check of the value written against a constant
 * (raising) or against the thread's expected-PKRU word in its GATE_RO
 * page, which only the gate and the kernel write; the value written comes
 * from the same page or the domain table (TRUSTED). A jump straight to a
 * WRPKRU with any other %eax fails the check, and the ud2 at
 * gate_violation fails the jumping domain. A jump to a raising WRPKRU with
 * %eax = PKRU_GATE passes, and the next instruction loads the gate stack:
 * from there it is an ordinary pass through the gate (minus the pushes,
 * so the return pops whatever the jumper's %rsp points at, with the
 * jumper's rights).
 *
 * Every path, and how it keeps the invariant:
 *   call (gate_start): push callee-saved registers, caller's rights;
 *     raise; gate stack; the caller still running (a constant-address
 *     table entry, its id masked); check the callee (counted first, see the
 *     interleavings below); lazy stack (SYS_GATE_STACK, made on the gate
 *     stack: the kernel checks its RIP lies in this page); continuation in
 *     TRUSTED; RRef checks (rref.gate.c on the gate stack); the caller's
 *     vector state zeroed (gate_zero_vectors, on the gate stack); WRPKRU
 *     to the callee's rights (from the domain table, checked against
 *     GATE_RO); `call` the method on the callee's stack.
 *   return: raise; gate stack; the callee's vector state zeroed (there
 *     too); a callee that failed goes no further
 *     (callee_failed: it lowers to its own rights and enters the kernel,
 *     which unwinds it); pop the continuation (it must be an XCALL
 *     into the current domain); RRef transfers (gate stack); restore; WRPKRU
 *     to the caller's expected rights (checked); then, with those rights,
 *     the caller's %rsp, pops and `ret` (as gate_resume, whose zeroing
 *     the return has done raised).
 *   refusals: the same lowering and gate_resume, with the error in %rax.
 *   upcalls (domain/gate.c gate_upcall): the kernel enters the domain with
 *     iretq on a stack it checked lies in the thread's stack region of that
 *     domain; the method returns to MAPLE_GATE_RETURN_VA, whose syscall
 *     touches no memory.
 *   unwinding (domain/gate.c unwind_failed): the kernel resumes the caller at
 *     gate_resume with the caller's rights, %rsp = the continuation's
 *     caller_rsp and %rax = the error; the pops and the `ret` run with the
 *     caller's rights. The kernel reads no domain memory for it, and does
 *     not unwind a thread that holds PKRU_GATE in this page except after a
 *     fault, so no raised pass is cut in half; a raised pass is straight
 *     line (plus rref.gate.c's bounded loops and one syscall), so that
 *     wait is bounded. A domain can loop THROUGH the gate (return into its
 *     entry from gate_resume), but half of each round holds its own
 *     rights, where it is unwound like a loop in its own code.
 *   injected faults: stubs below run with the domain's own rights.
 *   a second thread of the caller: it can rewrite the caller's stack while
 *     this thread is in the gate, but the gate reads that stack only after
 *     lowering to the caller's rights, so at worst the caller returns to
 *     where its other thread chose, with its own rights. The gate stack and
 *     the TRUSTED pages are per thread and beyond the domain's key.
 *
 * Counting a call against destroy (domain/domain.c domain_destroy): the gate
 * increments the callee's `active` (lock inc: a full barrier) and only
 * then reads its state and generation; destroy publishes the non-running
 * state and then, after a full barrier, reads `active`. Of the two
 * interleavings, either the gate's read sees the new state (it refuses
 * and decrements) or destroy's read sees the count (it waits): destroy
 * never unmaps a domain a caller is entering.
 *
 * Position-independent: only relative branches and absolute constants.
 */
#include <domain/gate_layout.h>
#include <kernel/gate_asm.h>
#include <maple/rref_abi.h>

#define PKRU_VIOLATION (PKRU_DENY_ALL & ~PKRU_ALLOW(PKEY_SHARED))

#define RFLAGS_AC (1 << 18)

/*
 * Raise to PKRU_GATE, a constant checked after the WRPKRU, and move to the
 * thread's gate stack before anything else: from here on nothing depends
 * on the %rsp the domain left. cld: rref.gate.c is C and assumes DF = 0.
 * Every switch between domains passes here, so here too no RFLAGS.AC
 * crosses: where CR0.AM is set (Linux sets it: maple-hosted) a domain's AC
 * makes every misaligned access fault, and one left by a caller failed its
 * callee at its first, or one left by a callee its caller (attack12,
 * gate-alignment-checks-cross-no-call). The VM leaves CR0.AM clear, where
 * AC checks nothing. POPF only when AC is set: it is slow, and the gate
 * stack, TRUSTED, is what it reads. TF needs nothing: its trap comes at the
 * gate's first instruction, with the caller's rights.
 */
.macro RAISE_TO_GATE
	movl $PKRU_GATE, %eax
	xorl %ecx, %ecx
	xorl %edx, %edx
	wrpkru
	cmpl $PKRU_GATE, %eax
	jne gate_violation_entry
	movq %gs:GT_GATE_STACK, %rsp
	cld
	pushfq
	testl $RFLAGS_AC, (%rsp)
	jz 1f
	andl $~RFLAGS_AC, (%rsp)
	popfq
	jmp 2f
1:	addq $8, %rsp
2:
.endm

/*
 * After a WRPKRU to a domain's rights: %eax must be the thread's expected
 * PKRU. Every domain's rights allow SHARED and reading GATE_RO, so a value
 * that does not is refused by a register test first, before the compare
 * reads the GATE_RO page: under rights a domain chose that deny them,
 * that read would fault where maple-hosted on Linux before 6.12 cannot
 * deliver the fault (the signal stack is SHARED), and the process would
 * die (seen: a jump to a lowering WRPKRU with %eax = 0xfffffffc).
 */
.macro CHECK_LOWERED
	testl $(PKRU_ALLOW(PKEY_SHARED) | PKRU_AD(PKEY_GATE_RO)), %eax
	jnz gate_violation_entry
	cmpl %gs:GT_EXPECTED_PKRU, %eax
	jne gate_violation_entry
.endm

/*
 * WRPKRU to %eax, which must be the thread's expected PKRU: the check
 * fails anyone who jumped to this WRPKRU with other rights in %eax.
 */
.macro LOWER_TO_EXPECTED
	xorl %ecx, %ecx
	xorl %edx, %edx
	wrpkru
	CHECK_LOWERED
.endm

	.section .gate, "ax"
	.balign 4096
	.globl gate_start, gate_entry_pushed, gate_entry_raise, gate_xcall_checked, gate_resume
	.globl gate_violation, gate_failed_wait

/*
 * long maple_xcall(handle %rdi, method %rsi, a0 %rdx, a1 %rcx, a2 %r8, a3 %r9)
 * at MAPLE_GATE_XCALL_VA.
 */
gate_start:
	/* With the caller's rights, on its stack: a bad %rsp faults here, and
	 * a bad GS base (a domain loaded %gs with a selector: base 0) faults
	 * at this first read, with rights under which the fault can be
	 * delivered (maple-hosted: Linux before 6.12 cannot deliver a signal
	 * while the thread holds PKRU_GATE, docs/platform.md). */
	movq %gs:GT_DOMAIN, %rax
	PUSH_CALLEE_SAVED
gate_entry_pushed:
	movq %rsp, %r12			/* caller_rsp: a value from here on */
	movq %rdx, %r10			/* a0, a1: WRPKRU needs %ecx = %edx = 0 */
	movq %rcx, %r11
gate_entry_raise:
	RAISE_TO_GATE
	/* A failed caller makes no more calls: the kernel leaves a thread in
	 * a running callee until it returns into its failed caller
	 * (domain/gate.c unwind_failed), whose code then runs only until the
	 * thread next enters the kernel and unwinds; calling on would keep it
	 * out of its own code for ever. The caller's slot is its own while
	 * it runs here: its call on this thread counts in its `active`. */
	movq %gs:GT_DOMAIN, %rax
	andl $(GATE_MAX_DOMAINS - 1), %eax
	imulq $GD_SIZE, %rax, %rax
	movabsq $GATE_DOMTAB_VA, %rcx
	cmpq $GATE_DOMAIN_RUNNING, GD_STATE(%rax, %rcx)
	jne err_dead
	movq %rsi, %r13			/* the method word */
	andl $XCALL_METHOD_MASK, %esi

	/* The callee's id, in range; its entry in the domain table. */
	movq %rdi, %rax
	andl $HANDLE_ID_MASK, %eax
	jz err_srch
	cmpq $GATE_MAX_DOMAINS, %rax
	jae err_srch
	imulq $GD_SIZE, %rax, %r15
	movabsq $GATE_DOMTAB_VA, %rcx
	addq %rcx, %r15
	/* Count the call, then check the callee (see the interleavings above):
	 * state first, then generation, so a successor published in the slot
	 * meanwhile is seen by its generation. */
	lock incq GD_ACTIVE(%r15)
	cmpq $GATE_DOMAIN_RUNNING, GD_STATE(%r15)
	jne err_dead_counted
	shrq $HANDLE_GEN_SHIFT, %rdi
	cmpq GD_GEN(%r15), %rdi
	jne err_dead_counted
	cmpq GD_NMETHODS(%r15), %rsi
	jae err_srch_counted
	movq %rdi, %rbp			/* callee generation */
	movq %rax, %rdi			/* callee id */

	/* This thread's stack in the callee; the kernel makes one the first time. */
	movq %gs:GT_TRUSTED, %rbx
	cmpq $0, GTT_DOMAIN_SP(%rbx, %rdi, 8)
	jne 1f
	pushq %rdi			/* on the gate stack */
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
	testq %rdx, %rdx
	js err_stack_counted
1:
	/* Room for a continuation? */
	movq GTT_CONT_TOP(%rbx), %r14
	cmpq %gs:GT_DEPTH_LIMIT, %r14
	jae err_depth_counted

	/* Push the continuation: everything needed to return, or to unwind. */
	movq $CONT_XCALL, CONT_KIND(%r14)
	movq %gs:GT_DOMAIN, %rax	/* caller id */
	andl $(GATE_MAX_DOMAINS - 1), %eax
	movq %rax, CONT_CALLER(%r14)
	movq %rdi, CONT_CALLEE(%r14)
	movq %rbp, CONT_CALLEE_GEN(%r14)
	movq %gs:GT_EXPECTED_PKRU, %rcx
	movq %rcx, CONT_CALLER_PKRU(%r14)
	movq %r12, CONT_CALLER_RSP(%r14)
	movq GTT_DOMAIN_SP(%rbx, %rax, 8), %rcx
	movq %rcx, CONT_CALLER_SP(%r14)
	/* A call back into the caller (or into itself) must start below its
	 * live frames; set that before reading the callee's stack. Only a
	 * value: it becomes %rsp after the WRPKRU to that domain's rights,
	 * and the kernel checks it before it writes there (gate_upcall). */
	movq %r12, %rcx
	andq $-16, %rcx
	movq %rcx, GTT_DOMAIN_SP(%rbx, %rax, 8)
	movq GTT_DOMAIN_SP(%rbx, %rdi, 8), %rcx
	movq %rcx, CONT_CALLEE_SP(%r14)
	/* No clock read: the watchdog stamps the call the first time it finds
	 * it the innermost (domain/watchdog_rule.h, WATCHDOG_UNSTAMPED). */
	movq $0, CONT_START_TSC(%r14)

	/* The method word and arguments, for RRef transfers both ways: the
	 * caller must own what it moves or lends (rref.gate.c). */
	movq %r13, CONT_WORD(%r14)
	movq %r10, CONT_ARGS(%r14)
	movq %r11, CONT_ARGS+8(%r14)
	movq %r8, CONT_ARGS+16(%r14)
	movq %r9, CONT_ARGS+24(%r14)
	testq $XCALL_RREF_BITS, %r13
	jz 2f
	movq %r14, %rdi
	call gate_rref_in		/* the gate stack is 16-byte aligned here */
	testq %rax, %rax
	jnz rref_refused
	movq CONT_CALLEE(%r14), %rdi
	movq CONT_WORD(%r14), %rsi
	andl $XCALL_METHOD_MASK, %esi
	movq CONT_ARGS(%r14), %r10
	movq CONT_ARGS+8(%r14), %r11
	movq CONT_ARGS+16(%r14), %r8
	movq CONT_ARGS+24(%r14), %r9
2:
	/* Counted in this thread's own TRUSTED page (%rbx: %gs:GT_TRUSTED,
	 * kept across gate_rref_in), at ids in range: the caller's masked
	 * above, the callee's checked against GATE_MAX_DOMAINS (both stored in
	 * the continuation only by this pass). No other thread writes these
	 * words, so a plain increment loses no count (gate_layout.h). */
	movq CONT_CALLER(%r14), %rax
	incq GTT_CALLS_OUT(%rbx, %rax, 8)
	leaq CONT_SIZE(%r14), %rax
	movq %rax, GTT_CONT_TOP(%rbx)

	incq GTT_CALLS(%rbx, %rdi, 8)
	movq GD_METHODS(%r15, %rsi, 8), %rbx	/* target */
	movq GD_PKRU(%r15), %rbp
	movq %rdi, %gs:GT_DOMAIN
	movq %rbp, %gs:GT_EXPECTED_PKRU

	/* None of the caller's vector registers for the callee. */
	call gate_zero_vectors
	/* Into the callee: its stack, its rights, its method. The stack
	 * pointer may be one the callee chose (where it called out from), so
	 * nothing here touches the stack until the WRPKRU has lowered to the
	 * callee's rights (interrupts from ring 3 switch to the kernel stack). */
	movq CONT_CALLEE_SP(%r14), %rsp
	movq %r10, %rdi
	movq %r11, %rsi
	movl %ebp, %eax
	xorl %ecx, %ecx
	xorl %edx, %edx
	wrpkru
gate_xcall_checked:
	CHECK_LOWERED
	movq %r8, %rdx
	movq %r9, %rcx
	xorl %ebp, %ebp			/* callee backtraces end here */
	/* The gate's own values, not the callee's business: the caller's
	 * %rsp, the continuation's and the domain table's addresses. */
	xorl %r10d, %r10d
	xorl %r11d, %r11d
	xorl %r12d, %r12d
	xorl %r13d, %r13d
	xorl %r14d, %r14d
	xorl %r15d, %r15d
	call *%rbx			/* pushes the return address with the callee's rights */

	/* Back from the callee, result in %rax, still with its rights. */
	movq %rax, %r10
	RAISE_TO_GATE
	/* None of the callee's vector registers for the caller: zeroed here,
	 * raised, so the return below skips gate_resume's zeroing (a failed
	 * callee is unwound to gate_resume, which zeroes). */
	call gate_zero_vectors
	/* A callee that failed has no result to give: its caller hears the
	 * failure, from the kernel's unwinding (callee_failed). */
	movq %gs:GT_DOMAIN, %rcx
	andl $(GATE_MAX_DOMAINS - 1), %ecx
	imulq $GD_SIZE, %rcx, %rcx
	movabsq $GATE_DOMTAB_VA, %rdx
	cmpq $GATE_DOMAIN_RUNNING, GD_STATE(%rcx, %rdx)
	jne callee_failed
	movq %gs:GT_TRUSTED, %rbx
	movq GTT_CONT_TOP(%rbx), %r14
	subq $CONT_SIZE, %r14
	leaq GTT_CONTS(%rbx), %rcx
	cmpq %rcx, %r14
	jb gate_violation_entry
	/* Only the callee's own call may end here. */
	cmpq $CONT_XCALL, CONT_KIND(%r14)
	jne gate_violation_entry
	movq CONT_CALLEE(%r14), %r12
	cmpq %gs:GT_DOMAIN, %r12
	jne gate_violation_entry
	andl $(GATE_MAX_DOMAINS - 1), %r12d
	imulq $GD_SIZE, %r12, %r15
	movabsq $GATE_DOMTAB_VA, %rcx
	addq %rcx, %r15
	/* The call stays on the continuation stack, and counted, until its
	 * RRef transfers are done. */
	testq $XCALL_RREF_BITS, CONT_WORD(%r14)
	jz 3f
	movq %r14, %rdi
	movq %r10, %rsi
	call gate_rref_out		/* on the gate stack, 16-byte aligned */
	movq %rax, %r10
3:
	movq CONT_CALLEE_SP(%r14), %rax
	movq %rax, GTT_DOMAIN_SP(%rbx, %r12, 8)
	movq CONT_CALLER(%r14), %rcx
	andl $(GATE_MAX_DOMAINS - 1), %ecx
	movq CONT_CALLER_SP(%r14), %rax
	movq %rax, GTT_DOMAIN_SP(%rbx, %rcx, 8)
	movq %rcx, %gs:GT_DOMAIN
	movq CONT_CALLER_PKRU(%r14), %rax
	movq %rax, %gs:GT_EXPECTED_PKRU
	movq CONT_CALLER_RSP(%r14), %r12
	movq %r14, GTT_CONT_TOP(%rbx)
	lock decq GD_ACTIVE(%r15)
	/* The callee's scratch registers stay its own: the caller gets its
	 * result, its own callee-saved registers (gate_resume) and zeros
	 * (LOWER_TO_EXPECTED zeroes %ecx and %edx). */
	xorl %edi, %edi
	xorl %esi, %esi
	xorl %r8d, %r8d
	xorl %r9d, %r9d
	xorl %r11d, %r11d
	LOWER_TO_EXPECTED
	movq %r10, %rax
	movq %r12, %rsp
	POP_CALLEE_SAVED		/* with the caller's rights, as at gate_resume */
	ret

/*
 * ZERO_VECTORS on the gate stack, raised, at the callee's entry and at
 * its return: MXCSR through that stack, which no domain reads or writes,
 * so loaded only where it differs (ZERO_MXCSR_PRIVATE). One copy for both,
 * so the page keeps room below MAPLE_GATE_RETURN_VA.
 */
gate_zero_vectors:
	ZERO_VECTORS %gs:GT_CLEAR_VECTORS, ZERO_MXCSR_PRIVATE
	ret

/*
 * With the caller's rights: its registers and its return address, from its
 * own stack. The kernel resumes unwound callers here (domain/gate.c), and
 * every refusal ends here: so here the caller gets none of the callee's
 * vector registers (on its own stack, which its rights write, so MXCSR's
 * word there is only ever the constant: ZERO_MXCSR). A call that returns
 * has zeroed them raised and pops on its own.
 */
gate_resume:
	POP_CALLEE_SAVED		/* first: a bad %rsp faults the caller here */
	ZERO_VECTORS %gs:GT_CLEAR_VECTORS
	ret

/* The caller may not move or lend those RRefs: undo the continuation. */
rref_refused:
	movq %rax, %r10
	movq CONT_CALLER(%r14), %rcx
	movq CONT_CALLER_SP(%r14), %rax
	movq %rax, GTT_DOMAIN_SP(%rbx, %rcx, 8)
	jmp refuse_counted

/* Refusals after the call was counted: uncount it, back to the caller. */
err_srch_counted:
	movq $-MAPLE_ESRCH, %r10
	jmp refuse_counted
err_depth_counted:
	movq $-MAPLE_EDEPTH, %r10
	jmp refuse_counted
err_stack_counted:
	movq %rdx, %r10			/* the kernel's -MAPLE_ENOMEM or -MAPLE_ESRCH */
	jmp refuse_counted
err_dead_counted:
	movq $-MAPLE_EDEAD, %r10
refuse_counted:
	lock decq GD_ACTIVE(%r15)
	jmp refuse
err_dead:
	movq $-MAPLE_EDEAD, %r10
	jmp refuse
err_srch:
	movq $-MAPLE_ESRCH, %r10
refuse:
	movq %gs:GT_EXPECTED_PKRU, %rax
	LOWER_TO_EXPECTED
	movq %r10, %rax
	movq %r12, %rsp
	jmp gate_resume

/*
 * The callee returned after it failed (a thread of its own panicked, say,
 * or it was killed while its call was out in another domain): back to its
 * own rights, and into the kernel, whose way back to ring 3 unwinds the
 * thread to the caller with the failure's error (domain/gate.c
 * unwind_failed). Nothing here touches memory: the stack pointer is still
 * the gate stack's, which the callee's rights cannot reach.
 */
callee_failed:
	movq %gs:GT_EXPECTED_PKRU, %rax
	LOWER_TO_EXPECTED
gate_failed_wait:		/* a name for maple-hosted's test of the in-gate grace */
	movl $SYS_NULL, %eax
	syscall
	jmp gate_failed_wait

/*
 * A check failed: someone jumped into the gate. #UD fails the domain, with
 * rights that let it be delivered anywhere: SHARED only (maple-hosted on
 * Linux before 6.12 writes the signal frame on SHARED memory with the
 * rights the fault happened under; the checks come here with PKRU_GATE or
 * rights a domain chose). This WRPKRU grants nothing a domain lacks, and
 * its own check loops back to it until PKRU holds that value, so a jump
 * straight to it with other rights in %eax ends here too.
 */
gate_violation_entry:
	movl $PKRU_VIOLATION, %eax
	xorl %ecx, %ecx
	xorl %edx, %edx
	wrpkru
	cmpl $PKRU_VIOLATION, %eax
	jne gate_violation_entry
gate_violation:
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
