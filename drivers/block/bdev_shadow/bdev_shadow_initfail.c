/*
 * bdev_shadow_initfail: the generated BlockDevice shadow (bdev_shadow.c)
 * driving membdev_initfail, which crashes inside its own domain_main on the
 * schedule the chaos ktest sets (kernel/ktest/chaos_initfail.c).
 */
#include <block/bdev_shadow/bdev_check.h>

long domain_main(long arg)
{
	(void)arg;
	return BlockDevice_shadow_start_checked("membdev_initfail", &bdev_checks);
}
