/*
 * nvme: the NVMe driver domain (docs/drivers.md, "The NVMe driver"). Its
 * domain_main brings the controller granted as nvme0 up and then exports
 * BlockDevice; a controller that cannot be brought up makes domain_main
 * fail, after one log line naming the reason, and the domain ends cleanly.
 */
#include <block/nvme/nvme.h>

long domain_main(long arg)
{
	(void)arg;
	long r = nvme_ctrl_start();
	if (r < 0)
		return r;
	return BlockDevice_export(&nvme_impl);
}
