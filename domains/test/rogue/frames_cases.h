/*
 * rogue's cases against maple-hosted's signal frames (numbers 240-259 of
 * its run(case, target, a2, a3) method, cases.h; domains/test/rogue/
 * frames.c): the frames and what handlers leave lie on the runtime's
 * key-0 signal stacks, and a handler's entry takes only the frame Linux
 * wrote for the signal it delivers (hosted/sigentry.S). Plain numbers, so
 * hosted/tests_sigframe.c can include them.
 */
#ifndef DOMAINS_ROGUE_FRAMES_CASES_H
#define DOMAINS_ROGUE_FRAMES_CASES_H

enum rogue_frames_case {
	ROGUE_F_FIRST = 240,
	/* Call run(ROGUE_H_LOG_SECRET) of the domain whose handle is target
	 * (it logs a line holding ROGUE_H_SECRET, with the secret in its
	 * callee-saved registers), then look for the secret's 8 bytes in
	 * [a2, a2 + a3) (the thread's signal stack): the first offset, or -1.
	 * One upcall: whatever that domain's system call left on the stack
	 * is still there. */
	ROGUE_F_CALL_THEN_SCAN = 240,
	/* Load %gs with a selector (base 0), then call target (a WRPKRU of
	 * the gate's that raises) with %eax = a2 (PKRU_GATE): the gate's
	 * next read, at %gs, faults with rights that deny SHARED. */
	ROGUE_F_GS_RAISE = 241,
	/* Make a SYS_NULL (Linux writes its frame where every frame of this
	 * upcall level goes), then jump to target (a handler entry's WRPKRU)
	 * with %eax = %ecx = %edx = 0 and %rsp = a2, the ucontext in %r8 and
	 * the siginfo in %rsi where Linux puts them: that frame again, never
	 * written by rogue. */
	ROGUE_F_REPLAY_FRAME = 242,
	/* Enter target (a WRPKRU of the gate's that raises) by iretq with
	 * RFLAGS.TF set and %eax = a2 (PKRU_GATE): the single-step #DB comes
	 * right after that WRPKRU, with the gate's raised rights. */
	ROGUE_F_TF_RAISE = 243,
	ROGUE_F_END
};

/* rogue's own (domains/test/rogue/frames.c): run() hands it these cases. */
long rogue_frames_case(long number, unsigned long target, unsigned long a2, unsigned long a3);

#endif
