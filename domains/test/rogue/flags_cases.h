/*
 * rogue's cases against RFLAGS crossing the gate (numbers 481-489 of its
 * run(case, target, a2, a3) method, cases.h; domains/test/rogue/flags.c).
 * Linux sets CR0.AM, so a domain that sets RFLAGS.AC with popf makes its
 * own misaligned accesses fault (SIGBUS, BUS_ADRALN); the VM leaves CR0.AM
 * clear, where AC checks nothing. Plain numbers, so hosted/tests_xcall.c
 * can include them.
 */
#ifndef DOMAINS_ROGUE_FLAGS_CASES_H
#define DOMAINS_ROGUE_FLAGS_CASES_H

enum rogue_flags_case {
	ROGUE_FL_FIRST = 481,
	/* Set RFLAGS.AC, call run(ROGUE_FL_MISALIGNED) of the domain whose
	 * handle is target, clear AC: what the call returned. */
	ROGUE_FL_CALL_WITH_AC = 481,
	/* An 8-byte load one byte past an aligned word of rogue's own data:
	 * its value, ROGUE_FL_VALUE (or a fault, with RFLAGS.AC set). */
	ROGUE_FL_MISALIGNED = 482,
	/* Set RFLAGS.AC and return: the caller gets it back unless the gate
	 * clears it. */
	ROGUE_FL_RETURN_WITH_AC = 483,
	/* Call run(ROGUE_FL_RETURN_WITH_AC) of the domain whose handle is
	 * target, then ROGUE_FL_MISALIGNED in rogue itself: its value, or the
	 * call's result if not 0. */
	ROGUE_FL_CALL_GETS_AC = 484,
	ROGUE_FL_END
};

#define ROGUE_FL_VALUE 0x4c4c415f5f4f4b00ull /* bytes 1-8 of the data below, little-endian */

/* rogue's own (domains/test/rogue/flags.c): run() hands it these cases. */
long rogue_flags_case(long number, unsigned long target);

#endif
