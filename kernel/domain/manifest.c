/*
 * The manifest table (domain/manifest.h). An image that is not listed may
 * create nothing and is granted nothing; a domain can only ever be created
 * from an image the kernel has (a boot module), by the kernel, the console,
 * or an instance of an image listed here as allowed to.
 */
#include <domain/manifest.h>
#include <lib/string.h>
#include <stddef.h>

static const struct manifest_entry manifest[] = {
	/* The shadow restarts its driver (docs/recovery.md). */
	{.image = "bdev_shadow", .may_create = {"membdev"}},
	/* The block driver owns the RAM disk, one instance at a time. */
	{.image = "membdev", .devices = {"ramdisk0"}},
	/* Test images (docs/recovery.md "Striking a driver"): the same pair,
	 * with a driver that lingers inside its first request. */
	{.image = "bdev_shadow_linger", .may_create = {"membdev_linger"}},
	{.image = "membdev_linger", .devices = {"ramdisk0"}},
	/* ... and with a driver that crashes inside its own domain_main on a
	 * schedule the chaos test sets (kernel/ktest/chaos_initfail.c). */
	{.image = "bdev_shadow_initfail", .may_create = {"membdev_initfail"}},
	{.image = "membdev_initfail", .devices = {"ramdisk0"}},
	/* ... and with a driver that acknowledges a write without storing it
	 * (docs/recovery.md, "End-to-end integrity"). */
	{.image = "bdev_shadow_forgetful", .may_create = {"membdev_forgetful"}},
	{.image = "membdev_forgetful", .devices = {"ramdisk0"}},
	/* ... and with one that stores a write over another block. */
	{.image = "bdev_shadow_misplacing", .may_create = {"membdev_misplacing"}},
	{.image = "membdev_misplacing", .devices = {"ramdisk0"}},
	/* ... the same behind a shadow without its mirror (bdev_check_mirror). */
	{.image = "bdev_shadow_nomirror", .may_create = {"membdev_misplacing"}},
	/* ... and with one that rewrites the slots of the shadow's read-back queue. */
	{.image = "bdev_shadow_scribbling", .may_create = {"membdev_scribbling"}},
	{.image = "membdev_scribbling", .devices = {"ramdisk0"}},
	/* ... and with one that rewrites the buf words of the shadow's copies. */
	{.image = "bdev_shadow_bufswap", .may_create = {"membdev_bufswap"}},
	{.image = "membdev_bufswap", .devices = {"ramdisk0"}},
	/* The NVMe driver (drivers/block/nvme) owns the first NVMe controller,
	 * class 01:08:02 (dev/pci.c names it). */
	{.image = "nvme", .devices = {"nvme0"}},
	/* The NVMe driver's shadow restarts it (docs/drivers.md, "NVMe recovery"). */
	{.image = "nvme_shadow", .may_create = {"nvme"}},
	/* The same shadow with its checks' read-back off, and without checks:
	 * the benchmark of their cost (kernel/bench/nvme.c). */
	{.image = "nvme_shadow_sums", .may_create = {"nvme"}},
	{.image = "nvme_shadow_unchecked", .may_create = {"nvme"}},
	/* Test images: the checked shadow with an NVMe driver that acknowledges
	 * a write without storing it, and one that returns a wrong read
	 * (kernel/ktest/nvme.c; docs/recovery.md, "End-to-end integrity"). */
	{.image = "nvme_shadow_forgetful", .may_create = {"nvme_forgetful"}},
	{.image = "nvme_forgetful", .devices = {"nvme0"}},
	{.image = "nvme_shadow_wrongread", .may_create = {"nvme_wrongread"}},
	{.image = "nvme_wrongread", .devices = {"nvme0"}},
	/* Test image: the NVMe driver that floods its controller with reads
	 * (kernel/ktest/nvme_quiesce.c). */
	{.image = "nvme_quiesce", .devices = {"nvme0"}},
	/* ... and the one with the benchmark's client inside (kernel/bench/nvme.c). */
	{.image = "nvme_bench", .devices = {"nvme0"}},
	/* ... and the ones seeing a failed or never-ready controller, and
	 * completions of a command id not in flight (kernel/ktest/nvme.c). */
	{.image = "nvme_cfs", .devices = {"nvme0"}},
	{.image = "nvme_notready", .devices = {"nvme0"}},
	{.image = "nvme_stray", .devices = {"nvme0"}},
	{.image = "nvme_badns", .devices = {"nvme0"}},
	/* Network drivers (drivers/net, docs/drivers.md "Network"): virtio-net
	 * owns the first virtio network function (dev/pci.c names it net0);
	 * each shadow restarts its driver; nullnet is software and holds none. */
	{.image = "virtio_net", .devices = {"net0"}},
	{.image = "net_shadow", .may_create = {"virtio_net"}},
	{.image = "nullnet_shadow", .may_create = {"nullnet"}},
	/* igb (drivers/net/igb) owns the first Intel 82576 (dev/pci.c names
	 * it igb0); its shadow restarts it. */
	{.image = "igb", .devices = {"igb0"}},
	{.image = "igb_shadow", .may_create = {"igb"}},
	/* ixgbe (drivers/net/ixgbe) owns the first Intel 82599 (ixgbe0). */
	{.image = "ixgbe", .devices = {"ixgbe0"}},
	{.image = "ixgbe_shadow", .may_create = {"ixgbe"}},
	/* Test image: the network ktests' client (kernel/ktest/net.c) starts
	 * each driver, or its shadow, itself. */
	{.image = "netclient",
	 .may_create = {"virtio_net", "net_shadow", "nullnet", "nullnet_shadow", "igb",
			"igb_shadow", "ixgbe", "ixgbe_shadow"}},
	/* Test image: virtio-net with bench=net's client inside
	 * (kernel/bench/net.c); netbench and nullnet_bench hold nothing. */
	{.image = "virtio_net_bench", .devices = {"net0"}},
	/* Test image: igb with bench=net's client inside. */
	{.image = "igb_bench", .devices = {"igb0"}},
	/* Test image: ixgbe with bench=net's client inside. */
	{.image = "ixgbe_bench", .devices = {"ixgbe0"}},
	/* Test image: the PCI ktests' minimal driver (kernel/ktest/pci.c);
	 * ahci0 for a function with an I/O BAR. */
	{.image = "pcitest", .devices = {"nvme0", "ahci0"}},
};

static const struct manifest_entry *entry(const char *image)
{
	for (size_t i = 0; i < sizeof manifest / sizeof manifest[0]; i++)
		if (!strcmp(manifest[i].image, image))
			return &manifest[i];
	return NULL;
}

bool manifest_may_create(const char *creator_image, const char *image)
{
	const struct manifest_entry *e = entry(creator_image);
	for (int i = 0; e && i < MANIFEST_MAX && e->may_create[i]; i++)
		if (!strcmp(e->may_create[i], image))
			return true;
	return false;
}

const char *const *manifest_devices(const char *image)
{
	const struct manifest_entry *e = entry(image);
	return e && e->devices[0] ? e->devices : NULL;
}
