/*
 * bdev_shadow_misplacing: the generated BlockDevice shadow with its
 * end-to-end checks (bdev_shadow.c) driving membdev_misplacing, which stores
 * a write over the block before it, for the hosted test of the checks'
 * mirror (hosted/tests_membdev.c).
 */
#include <block/bdev_shadow/bdev_check.h>

long domain_main(long arg)
{
	(void)arg;
	return BlockDevice_shadow_start_checked("membdev_misplacing", &bdev_checks);
}
