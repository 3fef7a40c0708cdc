/*
 * nvme_shadow: the generated BlockDevice shadow (bdev_shadow.c) driving the
 * NVMe driver. After a crash the kernel has quiesced the controller (bus
 * mastering off, CC.EN = 0) before the dead driver's memory is reused; the
 * new nvme re-initialises it in its domain_main, the shadow replays init
 * and resubmits the batch that was in flight (docs/drivers.md, "NVMe
 * recovery").
 */
#include <idl/bdev.h>

long domain_main(long arg)
{
	(void)arg;
	return BlockDevice_shadow_start("nvme");
}
