/*
 * nvme_shadow: the generated BlockDevice shadow with its end-to-end checks
 * (bdev_check.c, the same as membdev's) driving the NVMe driver. After a
 * crash the kernel has quiesced the controller (bus mastering off, CC.EN =
 * 0) before the dead driver's memory is reused; the new nvme re-initialises
 * it in its domain_main, the shadow replays init and resubmits the batch
 * that was in flight (docs/drivers.md, "NVMe recovery"). A wrong answer
 * (a wrong read, a write that does not read back) restarts it the same way.
 * Its policy is the default, every acknowledged write read back: the cost
 * on the emulated disk is in docs/recovery.md, "End-to-end integrity".
 */
#include <block/bdev_shadow/bdev_check.h>

long domain_main(long arg)
{
	(void)arg;
	return BlockDevice_shadow_start_checked("nvme", &bdev_checks);
}
