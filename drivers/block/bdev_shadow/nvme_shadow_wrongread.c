/*
 * nvme_shadow_wrongread: nvme_shadow_sums (reads checked, writes not read
 * back) driving nvme_wrongread, which returns one read with a byte changed,
 * for the VM test that the checksums alone find it (kernel/ktest/nvme.c):
 * with the read-back off, the driver reads only what the client asks for.
 */
#include <block/bdev_shadow/bdev_check.h>

long domain_main(long arg)
{
	(void)arg;
	bdev_check_read_back(false);
	return BlockDevice_shadow_start_checked("nvme_wrongread", &bdev_checks);
}
