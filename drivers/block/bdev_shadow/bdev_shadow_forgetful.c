/*
 * bdev_shadow_forgetful: the generated BlockDevice shadow with its
 * end-to-end checks (bdev_shadow.c) driving membdev_forgetful, which
 * acknowledges a write without storing it, for the hosted test of those
 * checks (hosted/tests_domains.c).
 */
#include <block/bdev_shadow/bdev_check.h>

long domain_main(long arg)
{
	(void)arg;
	return BlockDevice_shadow_start_checked("membdev_forgetful", &bdev_checks);
}
