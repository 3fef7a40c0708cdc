/*
 * rogue's cases against AVX-512 state crossing the gate (numbers 420-439
 * of its run(case, target, a2, a3) method, cases.h;
 * domains/test/rogue/wide.c), for CPUs that have it (this machine's
 * Xeon): %zmm0-31 whole, the upper halves above the %xmm and %ymm the
 * attack4 cases read, and the opmask registers %k0-7. Plain numbers, so
 * hosted/tests_xcall.c can include them.
 */
#ifndef DOMAINS_ROGUE_WIDE_CASES_H
#define DOMAINS_ROGUE_WIDE_CASES_H

/* What ROGUE_Z_SET writes into every 64-bit lane of %zmm0-31 and into
 * %k0-7. */
#define ROGUE_Z_SECRET 0x5ec2e75ec2e75ec2
/* How many bus locks ROGUE_Z_SPLIT_LOCK takes. */
#define ROGUE_Z_SPLIT_LOCKS 20

enum rogue_wide_case {
	ROGUE_Z_FIRST = 420,
	/* The OR of every 64-bit lane of %zmm0-31 and of %k0-7 as the
	 * method found them: 0 where nothing crossed. */
	ROGUE_Z_PEEK = 420,
	ROGUE_Z_SET = 421,	/* ROGUE_Z_SECRET everywhere ROGUE_Z_PEEK looks, return 0 */
	ROGUE_Z_SET_FAIL = 422, /* ROGUE_Z_SET, then ud2: the domain fails */
	/* ROGUE_Z_SET, then call run(ROGUE_Z_PEEK) of the domain whose handle
	 * is target: what it returned. */
	ROGUE_Z_LEAVE = 423,
	/* Call run(a2) of the domain whose handle is target (a2
	 * ROGUE_Z_SET or ROGUE_Z_SET_FAIL), then ROGUE_Z_PEEK: what the
	 * callee left. What the call returned if neither 0 nor
	 * -MAPLE_ECALLEE. */
	ROGUE_Z_CALLBACK = 424,
	/* ROGUE_T_SET's tile configuration, then ud2: the domain fails. */
	ROGUE_Z_TILES_SET_FAIL = 425,
	/* Call run(ROGUE_Z_TILES_SET_FAIL) of the domain whose handle is
	 * target, then ROGUE_T_PEEK: what the failed callee left (the
	 * call's result if not -MAPLE_ECALLEE). */
	ROGUE_Z_TILES_CALLBACK_FAIL = 426,
	/* ROGUE_T_SET's configuration, then TILEZERO %tmm0: tile data, which
	 * Linux keeps behind XFD until a process asks (ARCH_REQ_XCOMP_PERM,
	 * a system call no domain reaches). The domain fails (SIGILL). */
	ROGUE_Z_TILEZERO = 427,
	/* MXCSR and the x87 control word with every floating-point exception
	 * unmasked, then return 0: whoever runs next on the thread (the
	 * runtime after an upcall, a caller after the gate) must not take
	 * them over and fault on its next division by zero. */
	ROGUE_Z_UNMASK = 428,
	/* ROGUE_Z_SPLIT_LOCKS LOCKed increments of a word that straddles a
	 * cache line in rogue's own memory, then the word: real Intel CPUs
	 * report each such bus lock (a #DB after it, where Linux has bus
	 * lock detection), which Linux answers by delaying the thread (its
	 * default, warn) or with SIGBUS (split_lock_detect=fatal), never a
	 * SIGTRAP: rogue returns ROGUE_Z_SPLIT_LOCKS, or fails alone. */
	ROGUE_Z_SPLIT_LOCK = 429,
	ROGUE_Z_END
};

/* rogue's own (domains/test/rogue/wide.c): run() hands it these cases. */
long rogue_wide_case(long number, unsigned long target, unsigned long a2);

#endif
