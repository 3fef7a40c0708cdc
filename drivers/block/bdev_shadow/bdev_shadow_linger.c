/*
 * bdev_shadow_linger: the generated BlockDevice shadow (bdev_shadow.c)
 * driving membdev_linger instead of membdev, for the recovery ktest that
 * holds the retried request inside each new driver instance.
 */
#include <block/bdev_shadow/bdev_check.h>

long domain_main(long arg)
{
	(void)arg;
	return BlockDevice_shadow_start_checked("membdev_linger", &bdev_checks);
}
