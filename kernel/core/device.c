/*
 * Software devices (core/device.h). A device's frames are allocated on
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

struct swdev {
	const char *name;
	uint64_t pages;
	uint64_t *frames; /* NULL until first mapped */
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
	if (!mb || mb > 256)
		mb = RAMDISK_DEFAULT_MB;
	return mb << 20 >> 12;
}

/* Frames for the device, on first use; false when memory runs out. */
static bool populate(struct swdev *dev)
{
	if (dev->frames)
		return true;
	uint64_t pages = ramdisk_pages();
	uint64_t *frames = kmalloc(pages * sizeof *frames);
	if (!frames)
		return false;
	for (uint64_t i = 0; i < pages; i++) {
		frames[i] = frame_alloc();
		if (!frames[i]) {
			while (i--)
				frame_free(frames[i], 1);
			kfree(frames);
			return false;
		}
		memset(phys_to_virt(frames[i]), 0, PAGE_SIZE);
	}
	dev->frames = frames;
	dev->pages = pages;
	klog("device: %s: %lu MiB", dev->name, pages >> 8);
	return true;
}

long device_size(const char *name)
{
	struct swdev *dev = find(name);
	if (!dev)
		return -MAPLE_ESRCH;
	return (long)((dev->frames ? dev->pages : ramdisk_pages()) * PAGE_SIZE);
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
	if (!populate(dev) ||
	    !dmem_map_frames(d, d->base + DEVICE_OFF, dev->frames, dev->pages, PTE_W | PTE_NX)) {
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
