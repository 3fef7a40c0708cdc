/*
 * rogue's cases from the outside attack review (domains/test/rogue/attack.c),
 * numbers 140-159 of its run(case, target, a2, a3) method (cases.h).
 * Plain numbers, so kernel tests (kernel/ktest/attack.c) can include them.
 */
#ifndef DOMAINS_ROGUE_ATTACK_CASES_H
#define DOMAINS_ROGUE_ATTACK_CASES_H

#define ROGUE_A_WORK_DONE  0x30b
#define ROGUE_A_FPU_SECRET 0x5ec2e7
#define ROGUE_A_PENDING	   0x9e4d
#define ROGUE_A_REG_SECRET 0x5ec2e70000 /* no suffix: attack.c spells it in assembly too */

enum rogue_attack_case {
	ROGUE_A_FIRST = 140,
	/* Call run(ROGUE_A_EXIT_CALLERS_THREAD) of the domain whose handle
	 * is target and return what that call returned. */
	ROGUE_A_CALL_EXITER = 140,
	/* SYS_THREAD_EXIT from inside a call made by another domain: the
	 * thread is the caller's, not this domain's to end. Returns what
	 * the syscall returned, if it returns. */
	ROGUE_A_EXIT_CALLERS_THREAD = 141,
	/* An honest callee's work: target rounds of arithmetic on the CPU,
	 * then ROGUE_A_WORK_DONE. */
	ROGUE_A_WORK = 142,
	/* Start target domain threads that spin in ring 3, never calling
	 * anything, until ROGUE_A_SPINNERS_END; returns how many started. */
	ROGUE_A_SPINNERS = 143,
	ROGUE_A_SPINNERS_END = 144, /* they return within a slice: 0 */
	/* Load ROGUE_A_FPU_SECRET into the x87 register stack, then call
	 * run(ROGUE_A_FPU_PEEK) of the domain whose handle is target and
	 * return what it returned. */
	ROGUE_A_FPU_LEAVE = 145,
	/* Pop the x87 stack's top into memory and return it as an integer:
	 * what the caller (or whoever last ran x87 code on this CPU) left. */
	ROGUE_A_FPU_PEEK = 146,
	/* SYS_LOG a short line target times, as fast as it can; returns how
	 * many calls the kernel accepted (returned the length). */
	ROGUE_A_LOG_FLOOD = 147,
	/* From a new domain thread (whose gate slot has entered no domain
	 * yet), jump with rogue's own rights straight to the gate's
	 * lazy-stack syscall at a2 (SYS_GATE_STACK) for domain id target,
	 * with registers that lead the gate's code after it back out through
	 * its refusal path. Returns the thread's id; ROGUE_A_GATE_STACK_RESULT
	 * then returns ROGUE_A_PENDING until the thread has the syscall's
	 * error if it failed, else -MAPLE_EDEPTH (the gate's refusal on the
	 * way out): the kernel made a stack in that domain for a call that
	 * was never counted. */
	ROGUE_A_GATE_STACK_JUMP = 148,
	ROGUE_A_GATE_STACK_RESULT = 149,
	/* Call run(ROGUE_A_LEAVE_REGS) of the domain whose handle is target
	 * and return the OR of %rdi, %rsi, %r8, %r9 and %r11 as the gate
	 * handed them back: what the callee left there reaches the caller. */
	ROGUE_A_PEEK_REGS = 150,
	/* Put ROGUE_A_REG_SECRET in %rdi, %rsi, %r8, %r9 and %r11 and return
	 * 0 straight to the gate. */
	ROGUE_A_LEAVE_REGS = 151,
	ROGUE_A_END
};

/* rogue's own (domains/test/rogue/attack.c): run() hands it these cases. */
long rogue_attack_case(long number, unsigned long target, unsigned long a2);

#endif
