/*
 * rogue's attacks on the cross-domain gate (domains/test/rogue/gate.c), cases
 * 20-39 of its run(case, target, a2, a3) method (cases.h). Plain numbers,
 * so kernel tests (kernel/ktest/gate.c) can include them too.
 */
#ifndef DOMAINS_ROGUE_GATE_CASES_H
#define DOMAINS_ROGUE_GATE_CASES_H

enum rogue_gate_case {
	/* jmp to a2 (inside the gate, past its pushes) with %rsp = target,
	 * %rdi = a3 (a handle), method 0 moving argument 0 (an RRef it does
	 * not own, so the gate refuses after its checks), and every other
	 * register, %rbp included, 0. Never returns by itself. */
	ROGUE_GATE_JUMP_STACK = 20,
	/* A second thread writes the address of a function over the eight
	 * words just below the first thread's stack pointer at the gate (where
	 * the old gate kept the return address of gate_rref_in) in a tight
	 * loop, while the first makes a2 calls to xb.echo (handle target)
	 * moving an RRef there and back. Reached with raised rights, that
	 * function writes ROGUE_GATE_HIJACK_VALUE to the TRUSTED word a3 (the
	 * kernel test gives a domain-table pkru); with rogue's own rights the
	 * write faults. Returns the calls that came back with the RRef. */
	ROGUE_GATE_STACK_RACE = 21,
	/* Create up to target threads that sleep until ROGUE_GATE_THREADS_END;
	 * returns how many were created and stops at the first refusal, whose
	 * error ROGUE_GATE_THREADS_ERR returns (0 if none). */
	ROGUE_GATE_THREADS = 22,
	ROGUE_GATE_THREADS_ERR = 23,
	/* Tell those threads to end (they do within a few ms): returns 0. */
	ROGUE_GATE_THREADS_END = 24,
	/* target times: look up "victim" and call its check(). Every result
	 * must be 1 (the method's value), -MAPLE_EDEAD, -MAPLE_ESRCH or
	 * -MAPLE_ECALLEE: returns how many were 1, or -1 at the first other,
	 * which ROGUE_GATE_HAMMER_BAD then returns. */
	ROGUE_GATE_HAMMER = 25,
	ROGUE_GATE_HAMMER_BAD = 26,
	/* Call itself through the gate until the gate refuses: returns the
	 * refusal, passed back up every level (-MAPLE_EDEPTH). */
	ROGUE_GATE_DEPTH = 27,
	/* Loop through the gate for ever: return into it at target (the raise
	 * of its entry) from a2 (gate_resume) on a frame whose saved %r12
	 * points back at the frame itself, with a handle the gate refuses, so
	 * every refusal returns into the next pass. With a3 nonzero (a gate
	 * that clears vector state, which pushes below its return slot: gate.c),
	 * two instructions of rogue's put the saved %r12 back each pass; with 0
	 * the loop is the gate's alone. Never returns. */
	ROGUE_GATE_LOOP = 28,
	ROGUE_GATE_LAST = 28,
	/* target calls of method a3 of handle a2 with no arguments, nothing
	 * else in the loop (the tests that count calls from two threads at
	 * once): returns target if none returned an error, else the first
	 * error. Numbered in gatecost2's range. */
	ROGUE_GATE_COUNT = 360,
};

/* What ROGUE_GATE_STACK_RACE's hijack writes: PKRU 0, every key. */
#define ROGUE_GATE_HIJACK_VALUE 0ULL

#endif
