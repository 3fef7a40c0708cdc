/*
 * rogue's cases for the call watchdog and for debug traps (numbers 100-119,
 * the "watch" range of cases.h), run through the same run(case, target)
 * method. Plain numbers, so kernel tests can include it too.
 */
#ifndef DOMAINS_ROGUE_WATCH_CASES_H
#define DOMAINS_ROGUE_WATCH_CASES_H

#define ROGUE_W_DONE	 0x5e1f	     /* what a case that ran to its end returns */
#define ROGUE_W_PENDING	 0x9e4d	     /* ROGUE_W_THREAD_RESULT: the thread has no result yet */
#define ROGUE_W_SURVIVED 0x5a7ed     /* ROGUE_W_CALL_TF_FAULT: back from the call, unharmed */
#define ROGUE_W_AFTER_NS 100000000UL /* ROGUE_W_CALL_SPIN_THEN_BUSY: half the tests' budget */

enum rogue_watch_case {
	ROGUE_W_FIRST = 100,
	ROGUE_W_SLEEP = 100,	     /* SYS_SLEEP_NS(target ns) once, then ROGUE_W_DONE */
	ROGUE_W_SLEEP_FOREVER = 101, /* SYS_SLEEP_NS(1 hour) in an endless loop */
	ROGUE_W_BUSY = 102,	     /* run in ring 3 for target ns, then ROGUE_W_DONE */
	/* Start a domain thread that calls run(ROGUE_SPIN) (103) or
	 * run(ROGUE_W_SLEEP_FOREVER) (104) of the domain whose handle is
	 * target and keeps what the call returned; returns the thread id. */
	ROGUE_W_THREAD_CALL_SPIN = 103,
	ROGUE_W_THREAD_CALL_SLEEPER = 104,
	ROGUE_W_THREAD_RESULT = 105, /* that result, or ROGUE_W_PENDING */
	ROGUE_W_SINGLE_STEP = 106,   /* set TF with popf, in a loop */
	ROGUE_W_INT3 = 107,	     /* int3 in a loop */
	/* The rip the kernel sees at the first trap of case target (106 or
	 * 107): the instruction after the one that trapped. */
	ROGUE_W_TRAP_RIP = 108,
	ROGUE_W_TF_FAULT = 109, /* set TF with popf and take #UD in the very next instruction */
	/* Call run(ROGUE_W_TF_FAULT) of the domain whose handle is target,
	 * then run on: ROGUE_W_SURVIVED if that call came back with
	 * -MAPLE_ECALLEE, else what it returned. */
	ROGUE_W_CALL_TF_FAULT = 110,
	/* Load target into every general register but %rsp and %rbp and jump
	 * to it: aimed at a `jmp *%reg` inside the gate page, a loop there. */
	ROGUE_W_GATE_SPIN = 111,
	/* Start a domain thread that runs for target ns and then makes
	 * ROGUE_W_THREAD_RESULT ROGUE_W_DONE; returns the thread id. A
	 * thread's own frame has no deadline, however long it runs. */
	ROGUE_W_THREAD_BUSY = 112,
	/* Call run(ROGUE_SPIN) of the domain whose handle is target, then run
	 * for ROGUE_W_AFTER_NS and return what the call returned: the
	 * spinning call's time is not the caller's own. */
	ROGUE_W_CALL_SPIN_THEN_BUSY = 113,
	ROGUE_W_END
};

/* rogue's own (domains/test/rogue/watch.c): run() hands it these cases. */
long rogue_watch_case(long number, unsigned long target);

#endif
