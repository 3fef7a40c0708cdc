/*
 * rogue's cases against a BlockDevice shadow's end-to-end checks (numbers
 * 370-389 of its run(case, target, a2, a3) method, cases.h;
 * domains/test/rogue/blocks.c): a client that breaks the rules of a batch
 * (domains/idl/bdev.idl) must get a clean error, and must neither crash
 * the shadow nor make it blame and restart an honest driver. target is
 * the shadow's handle; each case first sizes the device ROGUE_B_BLOCKS
 * blocks of ROGUE_B_BSIZE bytes. Plain numbers, so hosted tests can
 * include them.
 */
#ifndef DOMAINS_ROGUE_BLOCKS_CASES_H
#define DOMAINS_ROGUE_BLOCKS_CASES_H

#define ROGUE_B_BLOCKS	64
#define ROGUE_B_BSIZE	512
#define ROGUE_B_BLOCK	5 /* the block the cases name */
#define ROGUE_B_FEW	16
#define ROGUE_B_MANY	8192
#define ROGUE_B_RESIZES 60 /* the shadow's @replay log holds 64 inits */

enum rogue_blocks_case {
	ROGUE_B_FIRST = 370,
	/* A batch of a read of ROGUE_B_BLOCK and, in the deque's second
	 * slot, a handle whose payload address lies in the shared heap's
	 * last chunk, which no RRef uses: submit's result, or the bits
	 * (1 << 20) | -status of the read if it did not succeed. */
	ROGUE_B_UNMAPPED = 370,
	/* A write of ROGUE_B_BLOCK (bytes 0x11) in a batch of its own, which
	 * must be done (else -MAPLE_EIO); then a batch that names the block
	 * twice: a write of 0xaa, then a2 = 1 a write of 0xbb, 0 a read. The
	 * second submit's result. */
	ROGUE_B_TWICE = 371,
	/* A thread of rogue sizes the device ROGUE_B_RESIZES times, in turn
	 * ROGUE_B_FEW blocks and ROGUE_B_MANY (of ROGUE_B_BSIZE bytes), while
	 * rogue submits batches that write all of ROGUE_B_MANY blocks, 32
	 * requests of 256 blocks, until the thread is done: 0 if every
	 * submit and init returned a result (a count or a MAPLE_E* of the
	 * device: -MAPLE_EINVAL, -MAPLE_EIO), else the first other one. */
	ROGUE_B_RESIZE = 372,
	/* ROGUE_B_RESIZE with every size ROGUE_B_MANY (the first before the
	 * batches): 0 if every submit did all 32 requests, else the first
	 * other result, a count c as (1 << 20) | c. */
	ROGUE_B_REINIT = 373,
	ROGUE_B_END
};

/* rogue's own (domains/test/rogue/blocks.c): run() hands it these cases. */
long rogue_blocks_case(long number, unsigned long target, unsigned long a2);

#endif
