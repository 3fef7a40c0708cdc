/*
 * Software devices (dev/device.h). A device's memory is allocated on
 * first use and never freed; a domain that maps it gets a device region,
 * which its destruction unmaps without freeing. The kernel grants each
 * device to one domain at a time, when it creates a domain whose image the
 * manifest grants it to (domain/manifest.h, docs/isolation.md "Authority"),
 * as with real hardware assigned to one driver; only that domain may map it.
 */
#include <arch/x86/pte.h>
#include <core/boot.h>
#include <core/log.h>
#include <dev/device.h>
#include <domain/domain.h>
#include <domain/manifest.h>
#include <domain/observer.h>
#include <lib/cmdline.h>
#include <lib/fmt.h>
#include <lib/string.h>
#include <maple/rref_abi.h>
#include <mm/frame.h>
#include <mm/kmalloc.h>
#include <mm/vm.h>

#define RAMDISK_DEFAULT_MB 8
#define DEVICE_OFF	   (DOMAIN_STACK_OFF + 128UL * 1024 * 1024) /* after the stacks */
#define CHUNK_PAGES	   (PAGE_2M / PAGE_SIZE)

struct swdev {
	const char *name;
	uint64_t pages;
	uint64_t *chunks; /* 2 MiB physical chunks; NULL until first mapped */
	/* Granted to the domain with handle `holder` (0: nobody). `lineage` is
	 * the handle of the holder's creator (0: the kernel or console): while
	 * it lives, the device waits for that creator's next instance of the
	 * image (a shadow restarting its driver), and no other may have it. */
	uint64_t holder;
	uint64_t lineage;
	char holder_name[MAPLE_DOMAIN_NAME_MAX];
	char lineage_name[MAPLE_DOMAIN_NAME_MAX];
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

/* "membdev (id 4)", or whom it is kept for, or "nobody" (devices_lock held). */
static void describe_holder(const struct swdev *dev, char *buf, uint64_t len)
{
	if (dev->holder)
		fmt_snprintf(buf, len, "%s (id %lu)", dev->holder_name,
			     dev->holder & HANDLE_ID_MASK);
	else if (dev->lineage)
		fmt_snprintf(buf, len,
			     "nobody: it is kept for the next instance %s (id %lu) creates",
			     dev->lineage_name, dev->lineage & HANDLE_ID_MASK);
	else
		fmt_snprintf(buf, len, "nobody");
}

/*
 * Why d may not be granted dev, or NULL if it may (devices_lock held). The
 * invariant: at most one running domain holds a device, and a holder that
 * failed or went away is succeeded only by an instance its own creator
 * makes, so no other domain can slip in between a driver's crash and its
 * shadow's restart.
 */
static const char *grant_refusal(const struct swdev *dev, const struct domain *d)
{
	enum domain_state holder = dev->holder ? domain_state_of(dev->holder) : DOMAIN_GONE;
	if (holder == DOMAIN_RUNNING || holder == DOMAIN_CREATING)
		return "its holder runs";
	if (dev->lineage == d->creator)
		return NULL; /* the holder's creator replaces it */
	if (holder != DOMAIN_GONE)
		return "its failed holder is for its own creator to replace";
	if (dev->lineage && domain_state_of(dev->lineage) != DOMAIN_GONE)
		return "it is kept for its last holder's creator";
	return NULL;
}

void device_grant(struct domain *d)
{
	const char *const *names = manifest_devices(d->name);
	for (int i = 0; names && i < MANIFEST_MAX && names[i]; i++) {
		struct swdev *dev = find(names[i]);
		if (!dev)
			continue;
		spin_lock(&devices_lock);
		const char *why = grant_refusal(dev, d);
		char held_by[96];
		describe_holder(dev, held_by, sizeof held_by);
		if (!why) {
			dev->holder = domain_handle(d);
			dev->lineage = d->creator;
			fmt_snprintf(dev->holder_name, sizeof dev->holder_name, "%s", d->name);
			fmt_snprintf(dev->lineage_name, sizeof dev->lineage_name, "%s",
				     d->creator_name);
		}
		spin_unlock(&devices_lock);
		if (why)
			klog("device: %s not granted to %s (id %u): %s (granted to %s)", dev->name,
			     d->name, d->id, why, held_by);
		else
			klog("device: %s granted to %s (id %u), created by %s", dev->name, d->name,
			     d->id, d->creator_name);
	}
}

long device_map(struct domain *d, const char *name)
{
	struct swdev *dev = find(name);
	if (!dev)
		return -MAPLE_ESRCH;
	spin_lock(&devices_lock);
	if (dev->holder != domain_handle(d)) {
		char holder[96];
		describe_holder(dev, holder, sizeof holder);
		spin_unlock(&devices_lock);
		if (domain_log_refusal(d))
			klog("device: %s (id %u) may not map %s: it is granted to %s", d->name,
			     d->id, dev->name, holder);
		return -MAPLE_EPERM;
	}
	bool ready = populate(dev); /* under the lock: two threads of d may race here */
	spin_unlock(&devices_lock);
	/*
	 * Mapped outside the lock (a failing map shoots down TLBs, which needs
	 * other CPUs' interrupts). Should the grant move on meanwhile, it moves
	 * only from a holder that failed, whose threads all unwind and whose
	 * destruction unmaps it (docs/isolation.md, "Authority").
	 */
	if (!ready || !dmem_map_device(d, d->base + DEVICE_OFF, dev->chunks,
				       dev->pages / CHUNK_PAGES, PTE_W | PTE_NX))
		return -MAPLE_ENOMEM;
	domain_observe(DOMAIN_EV_MAPPED, d);
	klog("device: %s mapped by %s", dev->name, d->name);
	return (long)(d->base + DEVICE_OFF);
}

uint64_t *device_word(const char *name, uint64_t off)
{
	struct swdev *dev = find(name);
	if (!dev || off % sizeof(uint64_t))
		return NULL;
	spin_lock(&devices_lock);
	bool ready = populate(dev);
	spin_unlock(&devices_lock);
	if (!ready || off >= dev->pages * PAGE_SIZE)
		return NULL;
	uint64_t chunk = off / PAGE_2M; /* chunks are contiguous each, not with each other */
	return (uint64_t *)((uint8_t *)phys_to_virt(dev->chunks[chunk]) + off % PAGE_2M);
}

void device_release(struct domain *d)
{
	uint64_t h = domain_handle(d);
	spin_lock(&devices_lock);
	for (unsigned i = 0; i < sizeof devices / sizeof devices[0]; i++)
		if (devices[i].holder == h)
			devices[i].holder = 0; /* a RAM disk has no controller state to reset */
	spin_unlock(&devices_lock);
}

void device_foreach(void (*fn)(const char *line, void *arg), void *arg)
{
	for (unsigned i = 0; i < sizeof devices / sizeof devices[0]; i++) {
		char holder[96], line[128];
		spin_lock(&devices_lock);
		describe_holder(&devices[i], holder, sizeof holder);
		fmt_snprintf(line, sizeof line, "%s: granted to %s", devices[i].name, holder);
		spin_unlock(&devices_lock);
		fn(line, arg);
	}
}
