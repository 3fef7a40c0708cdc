/*
 * nvme_shadow_sums: nvme_shadow with the other policy of its checks: every
 * read is verified against its block's checksum, but acknowledged writes
 * are not read back (bdev_check_read_back), so the device sees no I/O the
 * client did not ask for. For bench/nvme-checks, which sets it against
 * nvme_shadow and the shadow without checks (nvme_shadow_unchecked).
 */
#include <block/bdev_shadow/bdev_check.h>

long domain_main(long arg)
{
	(void)arg;
	bdev_check_read_back(false);
	return BlockDevice_shadow_start_checked("nvme", &bdev_checks);
}
