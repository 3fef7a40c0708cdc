/*
 * rogue's cases against a BlockDevice shadow's end-to-end checks (numbers
 * 370-389, 440-449, 450-459 and 460-469 of its run(case, target, a2, a3) method,
 * cases.h;
 * domains/test/rogue/blocks.c): a client that breaks the rules of a batch
 * (domains/idl/bdev.idl), or keeps them from many threads at once, must
 * get a clean answer, and must neither crash the shadow, nor fail another
 * client's batch, nor make it blame and restart an honest driver. target is
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
#define ROGUE_B_RESIZES 60

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

#define ROGUE_B_INITS		200 /* ROGUE_B_INITS_MANY's inits */
#define ROGUE_B_RW_REQS		8   /* the attacker's batch: blocks 0-7, the good client's 32-39 */
#define ROGUE_B_RW_GOOD		32  /* the good client's first block */
#define ROGUE_B_RW_REWRITERS	2   /* threads rewriting the attacker's requests */
#define ROGUE_B_RW_MS		300 /* the attacker's time, at least */
#define ROGUE_B_RW_ROUNDS	200 /* the attacker's submits, at least */
#define ROGUE_B_RW_GOOD_BATCHES 100 /* ... and on until the good client has done as many */

enum rogue_blocks_shared_case {
	ROGUE_B_SHARED_FIRST = 440,
	/* The client's lent requests are its own shared memory: rogue writes
	 * blocks 0-7 in a batch of its own, then submits ROGUE_B_RW_ROUNDS
	 * batches of writes of blocks 0-3 and reads of 4-7 while
	 * ROGUE_B_RW_REWRITERS threads of its own rewrite those requests
	 * without pause (each status set back to 1, the first byte of each
	 * read's and each write's bytes changed),
	 * and a third thread, a well-behaved client with a deque of its own,
	 * writes blocks 32-39 and reads them back, batch by batch, until the
	 * attacker is done; the attacker starts once every thread runs and
	 * goes on past its rounds for ROGUE_B_RW_MS at least, and until the
	 * good client has done ROGUE_B_RW_GOOD_BATCHES batches (or failed). 0 if every attacker's
	 * submit got a device's answer (a count, -MAPLE_EINVAL, -MAPLE_EIO) and every batch of the
	 * good client was done whole and read back what it wrote; else the
	 * first other attacker's result, or the good client's first failure:
	 * its error, (1 << 20) | a count short of 8, (2 << 20) | a block read
	 * back wrong or failed, (3 << 20) if it ran no batch. */
	ROGUE_B_REWRITE = 440,
	/* The device sized ROGUE_B_INITS times, in turn ROGUE_B_BLOCKS blocks
	 * and ROGUE_B_FEW, then a write of ROGUE_B_BLOCK: 0 if every init
	 * returned the device's size and the write was done, else the first
	 * other result (a count c as (1 << 20) | c). The shadow's @replay log
	 * holds 64 calls. */
	ROGUE_B_INITS_MANY = 441,
	ROGUE_B_SHARED_END
};

#define ROGUE_B_HOARDERS	   12	/* ROGUE_B_HOARD's threads holding the shadow's copies */
#define ROGUE_B_HOARD_SMALL	   1024 /* ... and the one buffer each names in all 32 requests */
#define ROGUE_B_HOARD_GOOD_REQS	   16	/* the good client's two-block requests */
#define ROGUE_B_HOARD_MS	   300	/* the hoarders' time, at least */
#define ROGUE_B_HOARD_GOOD_BATCHES 60	/* ... and on until the good client has done as many */
#define ROGUE_B_BUFSWAP_MS	   5000 /* ROGUE_B_BUFSWAP's time, unless a2 gives one */

enum rogue_blocks_hoard_case {
	ROGUE_B_HOARD_FIRST = 450,
	/* The shadow's RRef quota held through its copies: ROGUE_B_HOARDERS
	 * threads of rogue each submit, without pause, a batch of 32 two-block
	 * reads (blocks 0-31) whose buf fields all name one RRef of
	 * ROGUE_B_HOARD_SMALL bytes nested in the first request (rogue pays
	 * 33 requests and 1 KiB a thread; the shadow's copy of the batch holds
	 * 32 buffers of 128 KiB), while a well-behaved thread writes blocks
	 * 32-63 in ROGUE_B_HOARD_GOOD_REQS two-block requests (their bytes in
	 * one buffer of its own) and reads them back, batch by batch,
	 * for ROGUE_B_HOARD_MS at least and until it has done
	 * ROGUE_B_HOARD_GOOD_BATCHES batches (or failed). 0 if every batch of
	 * the good client was done whole and read back what it wrote and every
	 * hoarder's submit got a device's answer; else the good client's first
	 * failure (its error, (1 << 20) | a count short of 16, (2 << 20) | a
	 * block read back wrong or failed, (3 << 20) if it ran no batch), or
	 * a hoarder's first other result. */
	ROGUE_B_HOARD = 450,
	/* One thread of rogue writes block ROGUE_B_RW_GOOD without pause, a
	 * new fill each time, while another reads it, for ROGUE_B_HOARD_MS:
	 * two clients racing on one block, each batch within the rules. 0 if
	 * every submit of both got a device's answer, else the first other. */
	ROGUE_B_RACE = 451,
	/* One thread of rogue submits, for a2 ms (0: ROGUE_B_BUFSWAP_MS),
	 * batches of 32 two-block reads (ROGUE_B_HOARD's) to
	 * bdev_shadow_bufswap, whose driver keeps writing one buffer's handle
	 * into the buf words of the shadow's copy of the batch between its
	 * calls. 0 if every submit
	 * did all 32 with status 0; else the first other: the submit's error,
	 * (1 << 20) | a count short of 32, or (2 << 20) | the index of a
	 * request whose status is not 0, minus its status in bits 32 and up. */
	ROGUE_B_BUFSWAP = 452,
	ROGUE_B_HOARD_END
};

#define ROGUE_B_NAMERS 2 /* ROGUE_B_NAME_OWN's threads naming the shadow's buffers */

enum rogue_blocks_own_case {
	ROGUE_B_OWN_FIRST = 460,
	/* The shadow's own RRefs named by a client: ROGUE_B_HOARDERS threads
	 * submit ROGUE_B_HOARD's batches without pause (the shadow's copy of
	 * each nests 32 buffers of 128 KiB, and frees 24 of them when the
	 * call ends), while ROGUE_B_NAMERS threads read the buf words of
	 * every request in the shared heap's chunk that holds rogue's own
	 * requests (the shadow's copies lie among them) and submit, for each
	 * 128 KiB buffer named there that is not rogue's, a two-block read
	 * into it, for ROGUE_B_HOARD_MS at least: rogue lends no such buffer.
	 * 0 if every submit got a device's answer and no such read was done;
	 * else the first other result, (4 << 20) | the reads done into
	 * buffers rogue did not lend, or (5 << 20) if no namer found a buffer
	 * to name. */
	ROGUE_B_NAME_OWN = 460,
	/* A client failing with calls in the shadow: ROGUE_B_HOARDERS threads
	 * submit ROGUE_B_HOARD's batches without pause (turns held, more
	 * waiting for theirs) and, after ROGUE_B_HOARD_MS, rogue's calling
	 * thread writes to address 0: rogue fails with its threads inside the
	 * shadow. Returns only if the write did not fault (-MAPLE_EINVAL). */
	ROGUE_B_DIE_INSIDE = 461,
	ROGUE_B_OWN_END
};

/* rogue's own (domains/test/rogue/blocks.c): run() hands it these cases. */
long rogue_blocks_case(long number, unsigned long target, unsigned long a2);

#endif
