/*
 * nvme_shadow_unchecked: the generated BlockDevice shadow driving nvme
 * without end-to-end checks (crash recovery only), the baseline that
 * bench/nvme-checks sets nvme_shadow and nvme_shadow_sums against. A
 * benchmark's control, not a configuration to run.
 */
#include <idl/bdev.h>

long domain_main(long arg)
{
	(void)arg;
	return BlockDevice_shadow_start("nvme");
}
