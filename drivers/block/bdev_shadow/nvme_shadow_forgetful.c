/*
 * nvme_shadow_forgetful: nvme_shadow (its checks, their default policy)
 * driving nvme_forgetful, which acknowledges a write without storing it,
 * for the VM test that the read-back finds it (kernel/ktest/nvme.c).
 */
#include <block/bdev_shadow/bdev_check.h>

long domain_main(long arg)
{
	(void)arg;
	return BlockDevice_shadow_start_checked("nvme_forgetful", &bdev_checks);
}
