/*
 * bdev_shadow_bufswap: the generated BlockDevice shadow with its
 * end-to-end checks (bdev_shadow.c) driving membdev_bufswap, which rewrites
 * the buf words of the shadow's copy of a batch after each call, for the
 * hosted test of set_put (hosted/tests_bdev_rules.c).
 */
#include <block/bdev_shadow/bdev_check.h>

long domain_main(long arg)
{
	(void)arg;
	return BlockDevice_shadow_start_checked("membdev_bufswap", &bdev_checks);
}
