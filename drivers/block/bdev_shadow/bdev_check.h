/*
 * bdev_check: the end-to-end checks a BlockDevice shadow runs on its driver's
 * answers (bdev_check.c; docs/recovery.md, "End-to-end integrity"). A shadow
 * domain passes them to the generated shadow:
 * `return BlockDevice_shadow_start_checked("membdev", &bdev_checks);`.
 * Every shadow verifies each read against the checksum of the block's last
 * stored write; reading back each acknowledged write is the instance's
 * policy (bdev_check_read_back), on unless its domain_main turns it off.
 */
#ifndef DRIVERS_BLOCK_BDEV_SHADOW_BDEV_CHECK_H
#define DRIVERS_BLOCK_BDEV_SHADOW_BDEV_CHECK_H

#include <idl/bdev.h>

extern const struct BlockDevice_shadow_checks bdev_checks;

/* The most blocks whose checksums a shadow keeps (16 bytes each: 4 MiB).
 * On a larger device blocks from this one on are untracked: their reads are
 * not judged, which init logs (their writes are still read back). */
#define BDEV_CHECK_TRACK_MAX (1UL << 18)

/* Whether this shadow reads back every acknowledged write through the driver
 * before the client hears of it (default true). Off, a write the driver
 * acknowledges but stores nowhere, or elsewhere, is found only when the
 * block is next read. Called by domain_main before the shadow starts. */
void bdev_check_read_back(bool on);

/* Whether this shadow keeps its mirror of each block's last stored write
 * (default true, for a device of at most 16 MiB), from which it restores a
 * block a wrong driver overwrote at rest. Without it such a block's read
 * fails with -MAPLE_EIO, as on a larger device; each init without one says
 * so, and why. Called by domain_main before the shadow starts. */
void bdev_check_mirror(bool on);

#endif
