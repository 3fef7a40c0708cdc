/*
 * bdev_check: the end-to-end checks a BlockDevice shadow runs on its driver's
 * answers (bdev_check.c; docs/recovery.md, "End-to-end integrity"). A shadow
 * domain passes them to the generated shadow:
 * `return BlockDevice_shadow_start_checked("membdev", &bdev_checks);`.
 */
#ifndef DRIVERS_BLOCK_BDEV_SHADOW_BDEV_CHECK_H
#define DRIVERS_BLOCK_BDEV_SHADOW_BDEV_CHECK_H

#include <idl/bdev.h>

extern const struct BlockDevice_shadow_checks bdev_checks;

#endif
