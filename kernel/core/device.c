/*
 * Software devices (core/device.h). A device's memory is allocated on
 * first use and never freed; a domain that maps it gets a device region,
 * which its destruction unmaps without freeing. Only one domain holds a
 * device at a time, as with real hardware assigned to one driver.
 */
#include <arch/pc/pte.h>
#include <core/boot.h>
#include <core/device.h>
#include <core/domain.h>
#include <core/log.h>
#include <maple/cmdline.h>
#include <maple/frame.h>
#include <maple/rref_abi.h>
#include <maple/string.h>
#include <mm/kmalloc.h>
#include <mm/vm.h>

#define RAMDISK_DEFAULT_MB 8
#define DEVICE_OFF	   (DOMAIN_STACK_OFF + 128UL * 1024 * 1024) /* after the stacks */
#define CHUNK_PAGES	   (PAGE_2M / PAGE_SIZE)

struct swdev {
	const char *name;
	uint64_t pages;
	uint64_t *chunks; /* 2 MiB physical chunks; NULL until first mapped */
	uint32_t holder;  /* domain id, 0 if none */
	uint32_t holder_gen;
};

static struct swdev devices[] = {{.name = "ramdisk0"}};
static struct spinlock devices_lock = SPINLOCK_INIT("devices");

static struct swdev *find(const char *name)
{
	for (unsigned i = 0; i < sizeof devices / sizeof devices[0]; i++)
		if (!strcmp(devices[i].name, name))
			return &devices[i];
	return NULL;
}

static uint64_t ramdisk_pages(void)
{
	uint64_t mb = RAMDISK_DEFAULT_MB;
	cmdline_get_u64(boot_info.cmdline, "ramdisk_mb", &mb);
	if (!mb || mb > 128) /* the slot has 128 MiB for devices */
		mb = RAMDISK_DEFAULT_MB;
	return mb << 20 >> 12; /* whole MiB: a multiple of the 2 MiB chunks once rounded */
}

/* Memory for the device on first use, in 2 MiB chunks so that it maps with
 * few entries (a restarted driver maps it again); false when it runs out. */
static bool populate(struct swdev *dev)
{
	if (dev->chunks)
		return true;
	uint64_t n = (ramdisk_pages() + CHUNK_PAGES - 1) / CHUNK_PAGES;
	uint64_t *chunks = kmalloc(n * sizeof *chunks);
	if (!chunks)
		return false;
	for (uint64_t i = 0; i < n; i++) {
		chunks[i] = frame_alloc_contig(CHUNK_PAGES, CHUNK_PAGES);
		if (!chunks[i]) {
			while (i--)
				frame_free(chunks[i], CHUNK_PAGES);
			kfree(chunks);
			return false;
		}
		memset(phys_to_virt(chunks[i]), 0, CHUNK_PAGES * PAGE_SIZE);
	}
	dev->chunks = chunks;
	dev->pages = n * CHUNK_PAGES;
	klog("device: %s: %lu MiB", dev->name, dev->pages >> 8);
	return true;
}

long device_size(const char *name)
{
	struct swdev *dev = find(name);
	if (!dev)
		return -MAPLE_ESRCH;
	uint64_t pages = dev->chunks
				 ? dev->pages
				 : (ramdisk_pages() + CHUNK_PAGES - 1) / CHUNK_PAGES * CHUNK_PAGES;
	return (long)(pages * PAGE_SIZE);
}

long device_map(struct domain *d, const char *name)
{
	struct swdev *dev = find(name);
	if (!dev)
		return -MAPLE_ESRCH;
	spin_lock(&devices_lock);
	struct domain *holder = dev->holder ? domain_by_id(dev->holder) : NULL;
	bool busy = holder && holder->gen == dev->holder_gen;
	if (!busy) {
		dev->holder = d->id;
		dev->holder_gen = d->gen;
	}
	spin_unlock(&devices_lock);
	if (busy)
		return -MAPLE_EPERM;
	if (!populate(dev) || !dmem_map_device(d, d->base + DEVICE_OFF, dev->chunks,
					       dev->pages / CHUNK_PAGES, PTE_W | PTE_NX)) {
		dev->holder = 0;
		return -MAPLE_ENOMEM;
	}
	klog("device: %s assigned to %s", dev->name, d->name);
	return (long)(d->base + DEVICE_OFF);
}

void device_release(struct domain *d)
{
	spin_lock(&devices_lock);
	for (unsigned i = 0; i < sizeof devices / sizeof devices[0]; i++)
		if (devices[i].holder == d->id && devices[i].holder_gen == d->gen)
			devices[i].holder = 0; /* a RAM disk has no controller state to reset */
	spin_unlock(&devices_lock);
}
