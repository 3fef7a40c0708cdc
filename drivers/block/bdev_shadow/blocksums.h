/*
 * blocksums: what a block-device shadow knows each block must hold, kept in
 * its own memory (docs/recovery.md, "End-to-end integrity"): per block, the
 * checksum of the last write it saw the driver store (0: none known), and
 * the checksum of contents found wrong at rest, so that a block corrupted
 * under an acknowledged write keeps failing cleanly instead of restarting
 * the driver at every read. Portable C (no SDK), so the host's unit tests
 * (kernel/test/test_blocksums.c) run the same code the shadow does.
 */
#ifndef DRIVERS_BLOCK_BDEV_SHADOW_BLOCKSUMS_H
#define DRIVERS_BLOCK_BDEV_SHADOW_BLOCKSUMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BLOCKSUM_NONE 0 /* no checksum: the block's contents are not known */

struct blocksum {
	uint64_t want; /* the last stored write's checksum, or BLOCKSUM_NONE */
	uint64_t bad;  /* contents found wrong at rest under want, or BLOCKSUM_NONE */
};

/* A table covers blocks [0, nblocks): a device larger than the memory the
 * shadow gives the table has its later blocks untracked, which every
 * function below treats as never written (nothing recorded, reads judged
 * BLOCKSUM_UNKNOWN). Explicit, never a wrong verdict: the shadow says so. */
struct blocksums {
	uint64_t nblocks;
	uint64_t block_size;
	struct blocksum *sums; /* nblocks entries, the caller's memory */
};

/* What a read of a block returned, against what it must hold. */
enum blocksum_verdict {
	BLOCKSUM_UNKNOWN, /* nothing known of the block: cannot be judged */
	BLOCKSUM_RIGHT,	  /* its last stored write */
	BLOCKSUM_WRONG,	  /* something else, not seen before */
	BLOCKSUM_AT_REST, /* the same wrong contents as found at rest before */
};

/* The checksum of len bytes; never BLOCKSUM_NONE. Not a MAC: it finds a
 * driver's mistakes, not a forger's choices. */
uint64_t blocksum_of(const void *data, size_t len);

/* Start a table of nblocks blocks of block_size bytes over sums (nblocks
 * entries), knowing nothing. */
void blocksums_init(struct blocksums *t, uint64_t nblocks, uint64_t block_size,
		    struct blocksum *sums);

/* A write of block was stored with checksum sum. */
void blocksums_stored(struct blocksums *t, uint64_t block, uint64_t sum);
/* A write of block may or may not have reached the device. */
void blocksums_forget(struct blocksums *t, uint64_t block);
/* Judge a read of block that returned contents with checksum sum. */
enum blocksum_verdict blocksums_judge(const struct blocksums *t, uint64_t block, uint64_t sum);
/* Two driver instances read the same wrong contents (sum): the device holds
 * them. Later reads of them are BLOCKSUM_AT_REST until the block is written. */
void blocksums_at_rest(struct blocksums *t, uint64_t block, uint64_t sum);
/* The checksum the block must have, or BLOCKSUM_NONE. */
uint64_t blocksums_want(const struct blocksums *t, uint64_t block);

#endif
