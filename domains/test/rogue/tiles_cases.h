/*
 * rogue's cases against AMX's tile configuration crossing the gate
 * (numbers 320-339 of its run(case, target, a2, a3) method, cases.h;
 * domains/test/rogue/tiles.c). Linux gates only the tiles' data behind
 * XFD: LDTILECFG and STTILECFG need no permission, so a domain can load
 * a configuration (palette, start row, each tile's shape) and read the
 * one it finds. Plain numbers, so hosted/tests_xcall.c can include them.
 */
#ifndef DOMAINS_ROGUE_TILES_CASES_H
#define DOMAINS_ROGUE_TILES_CASES_H

/* The bytes per row of tiles 0-3 in ROGUE_T_SET's configuration, as the
 * 64-bit word at offset 16 of what STTILECFG stores: 4, 8, 12, 16. */
#define ROGUE_T_SECRET 0x0010000c00080004

enum rogue_tiles_case {
	ROGUE_T_FIRST = 320,
	/* The 64-bit word at offset 16 of the tile configuration as the
	 * method found it (STTILECFG): 0 in the initial configuration,
	 * ROGUE_T_SECRET where ROGUE_T_SET's was left. */
	ROGUE_T_PEEK = 320,
	ROGUE_T_SET = 321, /* LDTILECFG a palette-1 configuration (ROGUE_T_SECRET), return 0 */
	/* ROGUE_T_SET, then call run(ROGUE_T_PEEK) of the domain whose
	 * handle is target: what it returned. */
	ROGUE_T_LEAVE = 322,
	/* Call run(ROGUE_T_SET) of the domain whose handle is target, then
	 * ROGUE_T_PEEK: what the callee left. What the call returned if not
	 * 0. */
	ROGUE_T_CALLBACK = 323,
	ROGUE_T_END
};

/* rogue's own (domains/test/rogue/tiles.c): run() hands it these cases. */
long rogue_tiles_case(long number, unsigned long target);
/* ROGUE_T_PEEK's and ROGUE_T_SET's own, for wide.c's ROGUE_Z_TILES. */
long rogue_tiles_peek(void);
long rogue_tiles_set(void);

#endif
