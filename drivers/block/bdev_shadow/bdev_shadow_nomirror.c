/*
 * bdev_shadow_nomirror: bdev_shadow_misplacing with its checks' mirror
 * refused (bdev_check_mirror), as on a device larger than the 16 MiB the
 * shadow mirrors or with no memory for it, driving membdev_misplacing, for
 * the hosted test that the block it stores a write over then reads as
 * -MAPLE_EIO, never as wrong data (hosted/tests_membdev.c).
 */
#include <block/bdev_shadow/bdev_check.h>

long domain_main(long arg)
{
	(void)arg;
	bdev_check_mirror(false);
	return BlockDevice_shadow_start_checked("membdev_misplacing", &bdev_checks);
}
