/*
 * bdev_shadow_scribbling: the generated BlockDevice shadow with its
 * end-to-end checks (bdev_shadow.c) driving membdev_scribbling, which
 * rewrites the slots of the shadow's read-back queue, for the hosted test
 * of those checks (hosted/tests_bdev_rules.c).
 */
#include <block/bdev_shadow/bdev_check.h>

long domain_main(long arg)
{
	(void)arg;
	return BlockDevice_shadow_start_checked("membdev_scribbling", &bdev_checks);
}
