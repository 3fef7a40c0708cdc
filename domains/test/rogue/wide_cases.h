/*
 * rogue's cases against register state crossing the gate on real
 * hardware (numbers 420-439 of its run(case, target, a2, a3) method,
 * cases.h; domains/test/rogue/wide.c), where attack4's cases read only
 * what FXSAVE shows of x87 and %xmm: AVX-512's %zmm0-31 whole and %k0-7,
 * the x87 and SSE control and status words and the x87 pointers, and
 * AMX's tile configuration where the callee fails (tiles_cases.h has the
 * calls that return); and what a domain can do to the runtime with tile
 * data, unmasked floating-point exceptions and bus locks. Plain numbers,
 * so the hosted tests can include them.
 */
#ifndef DOMAINS_ROGUE_WIDE_CASES_H
#define DOMAINS_ROGUE_WIDE_CASES_H

/* What ROGUE_Z_SET of ROGUE_Z_ZMM writes into every 64-bit lane of
 * %zmm0-31 and into %k0-7. */
#define ROGUE_Z_SECRET 0x5ec2e75ec2e75ec2
/* How many bus locks ROGUE_Z_SPLIT_LOCK takes. */
#define ROGUE_Z_SPLIT_LOCKS 20

/* The state a case's a2 (ROGUE_Z_CALLBACK: a3) names. */
enum rogue_wide_kind {
	/* %zmm0-31 and %k0-7: the OR of every 64-bit lane as found, and
	 * ROGUE_Z_SECRET in each. */
	ROGUE_Z_ZMM = 0,
	/* The x87 control, status and tag words, its last opcode and
	 * instruction and data pointers, and MXCSR: the OR of each one's
	 * difference from its initial value (FCW 037FH, MXCSR 1F80H, the
	 * rest 0) as FXSAVE shows them; and a rounding mode and every
	 * exception flag in both, an x87 load (its pointers) left. */
	ROGUE_Z_CONTROL = 1,
	/* AMX's tile configuration: ROGUE_T_PEEK and ROGUE_T_SET. */
	ROGUE_Z_TILES = 2,
	ROGUE_Z_KINDS
};

/* The instructions ROGUE_Z_STORE and ROGUE_Z_LOAD use (a2). */
enum rogue_wide_access {
	ROGUE_Z_BY_MOVDIR64B,  /* a direct store of 64 bytes (load: VMOVDQU64) */
	ROGUE_Z_BY_MOVDIRI,    /* a direct store of 8 bytes (load: MOVNTDQA) */
	ROGUE_Z_BY_MASKMOVDQU, /* a byte-masked non-temporal store (load: LDDQU) */
	ROGUE_Z_BY_SCATTER,    /* VPSCATTERQQ of 8 lanes (load: VPGATHERQQ) */
	ROGUE_Z_BY_XSAVE,      /* XSAVE of x87 and SSE, 512 bytes (load: FXRSTOR) */
	ROGUE_Z_BY_REP_MOVSB,  /* a fast string copy (load: the same, reversed) */
	ROGUE_Z_BY_CMPXCHG16B, /* a locked 16-byte compare-exchange (load: the same) */
	ROGUE_Z_BY_COMPRESS,   /* VPCOMPRESSQ to memory (load: VPEXPANDQ) */
	ROGUE_Z_ACCESSES
};

enum rogue_wide_case {
	ROGUE_Z_FIRST = 420,
	ROGUE_Z_PEEK = 420,	/* what state a2 holds: 0 where nothing crossed */
	ROGUE_Z_SET = 421,	/* fill state a2, return 0 */
	ROGUE_Z_SET_FAIL = 422, /* fill state a2, then ud2: the domain fails */
	/* Fill state a2, then call run(ROGUE_Z_PEEK, 0, a2) of the domain
	 * whose handle is target: what it returned. */
	ROGUE_Z_LEAVE = 423,
	/* Call run(a2, 0, a3) of the domain whose handle is target (a2
	 * ROGUE_Z_SET or ROGUE_Z_SET_FAIL), then ROGUE_Z_PEEK of state a3:
	 * what the callee left. What the call returned if neither 0 nor
	 * -MAPLE_ECALLEE. */
	ROGUE_Z_CALLBACK = 424,
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
	/* Write the 64 bytes at target with the instruction a2 names
	 * (enum rogue_wide_access), then return 0: protection keys govern
	 * every data access, the odd ones too, so at memory rogue's rights
	 * deny the domain fails with SEGV_PKUERR and nothing is written. */
	ROGUE_Z_STORE = 430,
	/* Read the 64 bytes at target with the instruction a2 names and
	 * return their OR. */
	ROGUE_Z_LOAD = 431,
	ROGUE_Z_END
};

/* rogue's own (domains/test/rogue/wide.c): run() hands it these cases. */
long rogue_wide_case(long number, unsigned long target, unsigned long a2, unsigned long a3);

#endif
