/*
 * rogue's cases from the attack3 review (domains/test/rogue/attack3.c,
 * kernel/ktest/attack3.c): a caller that fails while its thread runs inside
 * a callee it does not own, instructions ring 3 may not run, and syscalls
 * handed pointers that are not the caller's.
 */
#ifndef DOMAINS_ROGUE_ATTACK3_CASES_H
#define DOMAINS_ROGUE_ATTACK3_CASES_H

#define ROGUE_X_DONE	0x10c4ed /* the locked work ran to its end and unlocked */
#define ROGUE_X_PENDING 0x9e4d	 /* ROGUE_X_LOCKED_RESULT: no locked call has ended yet */

enum rogue_attack3_case {
	ROGUE_X_FIRST = 160,
	/* Take rogue's own lock (a dom_lock, as its malloc takes one), run in
	 * ring 3 for target ns holding it, unlock, and return ROGUE_X_DONE. */
	ROGUE_X_LOCKED_WORK = 160,
	/* Start a domain thread that sleeps a2 / 2 ns and then panics this
	 * domain; meanwhile call run(ROGUE_X_LOCKED_WORK, a2) of the domain
	 * whose handle is target again and again, for as long as it returns
	 * ROGUE_X_DONE, and return the first other result. */
	ROGUE_X_CALL_AND_DIE = 161,
	/* What the last ROGUE_X_LOCKED_WORK of this domain saw when it ended:
	 * ROGUE_X_DONE once one has unlocked, else ROGUE_X_PENDING. */
	ROGUE_X_LOCKED_RESULT = 162,
	/* Call run(ROGUE_X_CALL_AND_DIE, a2, a3) of the domain whose handle
	 * is target and return what that call returned. */
	ROGUE_X_RELAY = 163,
	/* Run the privileged or odd instruction target names (enum
	 * rogue_x_insn); ROGUE_NOT_CONTAINED if it ran. */
	ROGUE_X_INSN = 164,
	/* The raw syscall number target with arguments (a2, a3, 0): what it
	 * returned. For pointer arguments the kernel must refuse. */
	ROGUE_X_SYSCALL = 165,
	/* SYS_DEVICE_INFO("nvme0") into target: what it returned. */
	ROGUE_X_INFO_INTO = 166,
	/* Jump to the gate's raise (gate_entry_raise, at a2) as a call of
	 * run(ROGUE_NULL_DEREF) in the domain whose handle is target, with
	 * %r12, the caller's %rsp the gate records, set to a3. The callee
	 * faults, and the kernel unwinds the thread back here with that %rsp.
	 * Never returns by itself. */
	ROGUE_X_RAISE_WITH_RSP = 167,
	ROGUE_X_END
};

enum rogue_x_insn {
	ROGUE_X_ICEBP,	   /* 0xf1, INT1: #DB whatever the IDT gate's DPL */
	ROGUE_X_SYSENTER,  /* SYSENTER in 64-bit mode: #UD on AMD, #GP(0) on Intel (no CS MSR) */
	ROGUE_X_OUT_RESET, /* outb 0xfe to port 0x64 (the keyboard controller's reset) */
	ROGUE_X_HLT,
	ROGUE_X_CLI,
	ROGUE_X_INSNS
};

/* rogue's own (domains/test/rogue/attack3.c): run() hands it these cases. */
long rogue_attack3_case(long number, unsigned long target, unsigned long a2, unsigned long a3);

#endif
