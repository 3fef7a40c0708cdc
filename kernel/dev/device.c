/*
 * Devices granted to driver domains (dev/device.h): the software devices
 * here and the PCI functions of dev/pci.c. A software device's memory is
 * allocated on first use and never freed; a domain that maps it (or a PCI
 * BAR) gets a device region, which its destruction unmaps without freeing.
 * The kernel grants each device to one domain at a time, when it creates a
 * domain whose image the manifest grants it to (domain/manifest.h,
 * docs/isolation.md "Authority"), as with real hardware assigned to one
 * driver; only that domain may map it, or let a PCI function master the bus.
 */
#include <arch/x86/pte.h>
#include <core/boot.h>
#include <core/log.h>
#include <dev/device.h>
#include <dev/pci.h>
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
#define CHUNK_PAGES	   (PAGE_2M / PAGE_SIZE)

struct swdev {
	const char *name;
	uint64_t pages;
	uint64_t *chunks; /* 2 MiB physical chunks; NULL until first mapped */
	struct device_grant grant;
};

static struct swdev devices[] = {{.name = "ramdisk0"}};
/* Every grant (software and PCI), and the PCI functions' command registers.
 * Lock order: domain_fail takes it (device_stop) with the domain-list lock
 * possibly held (the watchdog's), so nothing takes that lock, nor a domain's
 * lock, while holding this one. */
static struct spinlock devices_lock = SPINLOCK_INIT("devices");

static struct swdev *find(const char *name)
{
	for (unsigned i = 0; i < sizeof devices / sizeof devices[0]; i++)
		if (!strcmp(devices[i].name, name))
			return &devices[i];
	return NULL;
}

/* The grant of device `name`, software or PCI (*pci set for PCI), or NULL. */
static struct device_grant *grant_of(const char *name, struct pci_func **pci)
{
	struct swdev *sw = find(name);
	*pci = sw ? NULL : pci_find(name);
	return sw ? &sw->grant : *pci ? &(*pci)->grant : NULL;
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
static void describe_holder(const struct device_grant *dev, char *buf, uint64_t len)
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
 * Why d may not be granted dev, or NULL if it may (devices_lock held), given
 * the states of dev's holder and lineage. The invariant: at most one running
 * domain holds a device, and a holder that failed or went away is succeeded
 * only by an instance its own creator makes, so no other domain can slip in
 * between a driver's crash and its shadow's restart.
 */
static const char *grant_refusal(const struct device_grant *dev, enum domain_state holder,
				 enum domain_state lineage, const struct domain *d)
{
	if (holder == DOMAIN_RUNNING || holder == DOMAIN_CREATING)
		return "its holder runs";
	if (dev->lineage == d->creator)
		return NULL; /* the holder's creator replaces it */
	if (holder != DOMAIN_GONE)
		return "its failed holder is for its own creator to replace";
	if (dev->lineage && lineage != DOMAIN_GONE)
		return "it is kept for its last holder's creator";
	return NULL;
}

/*
 * grant_refusal for dev and d now; returns with devices_lock HELD. The
 * states are read without the lock, because domain_state_of takes the
 * domain-list lock, under which domain_fail (the watchdog's) may take
 * devices_lock to stop a device; the holder and lineage they belong to are
 * then checked unchanged under it. A state read early is safe: a domain
 * never goes back to running, nor comes back once gone.
 */
static const char *refusal_locked(const struct device_grant *dev, const struct domain *d)
{
	for (;;) {
		spin_lock(&devices_lock);
		uint64_t holder = dev->holder, lineage = dev->lineage;
		spin_unlock(&devices_lock);
		enum domain_state hs = holder ? domain_state_of(holder) : DOMAIN_GONE;
		enum domain_state ls = lineage ? domain_state_of(lineage) : DOMAIN_GONE;
		spin_lock(&devices_lock);
		if (dev->holder == holder && dev->lineage == lineage)
			return grant_refusal(dev, hs, ls, d);
		spin_unlock(&devices_lock);
	}
}

/*
 * A PCI function is confirmed stopped (dev/pci.h) before it is granted: so
 * every holder starts from a function that masters nothing, and a successor
 * that takes over from a failed holder not yet destroyed can never be handed
 * a function still writing into that holder's memory (which the holder's
 * destruction frees without stopping the function again, as it is no longer
 * the holder). A function that does not stop is granted to nobody and stays
 * with its failed holder, whose memory stays with it (device_release).
 */
static const char *stop_for_grant(struct pci_func *pci, char *why, uint64_t len)
{
	bool stopped = pci_wait_stopped(pci, why, len);
	spin_lock(&devices_lock);
	pci->stuck = !stopped;
	pci->stopping = false;
	spin_unlock(&devices_lock);
	return stopped ? NULL : why;
}

void device_grant(struct domain *d)
{
	const char *const *names = manifest_devices(d->name);
	for (int i = 0; names && i < MANIFEST_MAX && names[i]; i++) {
		struct pci_func *pci;
		struct device_grant *dev = grant_of(names[i], &pci);
		if (!dev)
			continue;
		char held_by[96], stop[96];
		const char *why = refusal_locked(dev, d);
		/* One stop at a time: a second domain's stop must not clear
		 * bus mastering under a holder the first one just made. */
		if (!why && pci && pci->stopping)
			why = "it is being stopped for another domain's grant";
		else if (!why && pci)
			pci->stopping = true;
		spin_unlock(&devices_lock);
		if (!why && pci)
			why = stop_for_grant(pci, stop, sizeof stop); /* sleeps: no lock */
		if (!why) /* again: the holder may have changed while it slept */
			why = refusal_locked(dev, d);
		else
			spin_lock(&devices_lock);
		describe_holder(dev, held_by, sizeof held_by);
		if (!why) {
			dev->holder = domain_handle(d);
			dev->lineage = d->creator;
			fmt_snprintf(dev->holder_name, sizeof dev->holder_name, "%s", d->name);
			fmt_snprintf(dev->lineage_name, sizeof dev->lineage_name, "%s",
				     d->creator_name);
			if (pci)
				memset(pci->bar_va, 0, sizeof pci->bar_va);
		}
		spin_unlock(&devices_lock);
		if (why)
			klog("device: %s not granted to %s (id %u): %s (granted to %s)", names[i],
			     d->name, d->id, why, held_by);
		else
			klog("device: %s granted to %s (id %u), created by %s", names[i], d->name,
			     d->id, d->creator_name);
	}
}

long device_map(struct domain *d, const char *name)
{
	struct swdev *dev = find(name);
	if (!dev)
		return -MAPLE_ESRCH;
	spin_lock(&devices_lock);
	if (dev->grant.holder != domain_handle(d)) {
		char holder[96];
		describe_holder(&dev->grant, holder, sizeof holder);
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
	if (!ready || !dmem_map_device(d, d->base + DOMAIN_DEVICE_OFF, dev->chunks,
				       dev->pages / CHUNK_PAGES, PTE_W | PTE_NX))
		return -MAPLE_ENOMEM;
	domain_observe(DOMAIN_EV_MAPPED, d);
	klog("device: %s mapped by %s", dev->name, d->name);
	return (long)(d->base + DOMAIN_DEVICE_OFF);
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

/*
 * The PCI function `name`, if running domain d holds it: 0 with *out set and
 * devices_lock HELD (the caller acts on the function, then unlocks), or
 * -MAPLE_ESRCH, or -MAPLE_EPERM (logged, naming both) with the lock free. A
 * failed holder is refused too: it was stopped when it failed (device_stop)
 * and must not start the function again; checking its state under the same
 * lock device_stop takes after the failure is published makes that exact.
 */
static long hold_pci(struct domain *d, const char *name, const char *what, struct pci_func **out)
{
	struct pci_func *f = pci_find(name);
	if (!f)
		return -MAPLE_ESRCH;
	spin_lock(&devices_lock);
	if (f->grant.holder == domain_handle(d) &&
	    __atomic_load_n(&d->state, __ATOMIC_ACQUIRE) == DOMAIN_RUNNING) {
		*out = f;
		return 0;
	}
	char holder[96];
	describe_holder(&f->grant, holder, sizeof holder);
	spin_unlock(&devices_lock);
	if (domain_log_refusal(d))
		klog("device: %s (id %u) may not %s %s: it is granted to %s", d->name, d->id, what,
		     name, holder);
	return -MAPLE_EPERM;
}

long device_bar(struct domain *d, const char *name, uint64_t bar)
{
	struct pci_func *f;
	long rc = hold_pci(d, name, "map a BAR of", &f);
	if (rc < 0)
		return rc;
	uint32_t flags = bar < MAPLE_PCI_BARS ? f->info.bar_flags[bar] : 0;
	uint64_t base = bar < MAPLE_PCI_BARS ? f->info.bar_base[bar] : 0;
	uint64_t size = bar < MAPLE_PCI_BARS ? f->info.bar_size[bar] : 0;
	uint64_t mapped = bar < MAPLE_PCI_BARS ? f->bar_va[bar] : 0;
	spin_unlock(&devices_lock);
	/* Only whole pages of a sane memory BAR: a smaller BAR could share its
	 * page with another function's registers, which would then be the
	 * driver's too. */
	const char *why = (flags & (MAPLE_BAR_MEM | MAPLE_BAR_BAD)) != MAPLE_BAR_MEM
				  ? "not a usable memory BAR"
			  : size < PAGE_SIZE || base % PAGE_SIZE
				  ? "smaller than a page, or not page aligned"
				  : NULL;
	if (why) {
		if (domain_log_refusal(d))
			klog("device: %s (id %u) may not map BAR %ld of %s: %s", d->name, d->id,
			     (long)bar, name, why);
		return -MAPLE_EINVAL;
	}
	if (mapped)
		return (long)mapped;
	long va = dmem_map_mmio(d, base, size / PAGE_SIZE);
	if (va < 0)
		return va;
	spin_lock(&devices_lock);
	if (f->grant.holder == domain_handle(d) && !f->bar_va[bar])
		f->bar_va[bar] = (uint64_t)va;
	spin_unlock(&devices_lock);
	klog("device: %s BAR %lu (%lu KiB) mapped uncached by %s (id %u) at %#lx", name, bar,
	     size >> 10, d->name, d->id, (uint64_t)va);
	return va;
}

long device_bar_size(const char *name, uint64_t bar)
{
	struct pci_func *f = pci_find(name);
	if (!f)
		return -MAPLE_ESRCH;
	uint32_t flags = bar < MAPLE_PCI_BARS ? f->info.bar_flags[bar] : 0;
	if (!flags || (flags & (MAPLE_BAR_UPPER | MAPLE_BAR_BAD)))
		return -MAPLE_EINVAL;
	return (long)f->info.bar_size[bar];
}

long device_busmaster(struct domain *d, const char *name, uint64_t on)
{
	struct pci_func *f;
	long rc = hold_pci(d, name, "set bus mastering of", &f);
	if (rc < 0)
		return rc;
	if (on <= 1)
		pci_set_master(f, on);
	spin_unlock(&devices_lock);
	if (on > 1)
		return -MAPLE_EINVAL;
	klog("device: %s bus mastering %s by %s (id %u)", name, on ? "enabled" : "disabled",
	     d->name, d->id);
	return 0;
}

long device_config(struct domain *d, const char *name, uint64_t off)
{
	struct pci_func *f;
	long rc = hold_pci(d, name, "read the configuration space of", &f);
	if (rc < 0)
		return rc;
	/* Reading only: the command register, the BARs and the capabilities'
	 * control words stay the kernel's to write (Bus Master Enable through
	 * device_busmaster), so reading cannot change what the grant allows. */
	uint32_t v = off < PCI_CFG_SPACE_SIZE && off % 4 == 0 ? f->cfg[off / 4] : 0;
	spin_unlock(&devices_lock);
	return off < PCI_CFG_SPACE_SIZE && off % 4 == 0 ? (long)v : -MAPLE_EINVAL;
}

long device_info(const char *name, struct maple_pci_info *out)
{
	struct pci_func *f = pci_find(name);
	if (!f)
		return -MAPLE_ESRCH;
	const struct pci_func_cfg *c = &f->info;
	*out = (struct maple_pci_info){
		.vendor = c->vendor,
		.device = c->device,
		.class_code = c->class_code,
		.subclass = c->subclass,
		.prog_if = c->prog_if,
		.revision = c->revision,
		.bus = f->bus,
		.dev = f->dev,
		.fn = f->fn,
		.msi_cap = c->msi,
		.msix_cap = c->msix,
		.pcie_cap = c->pcie,
	};
	for (int i = 0; i < MAPLE_PCI_BARS; i++) {
		out->bar_flags[i] = c->bar_flags[i];
		out->bar_size[i] = c->bar_size[i];
	}
	return 0;
}

void device_stop(struct domain *d)
{
	uint64_t h = domain_handle(d);
	spin_lock(&devices_lock);
	for (uint32_t i = 0; i < pci_count(); i++) {
		struct pci_func *f = pci_get(i);
		if (f->grant.holder == h)
			pci_stop(f);
	}
	spin_unlock(&devices_lock);
}

/*
 * The invariant this enforces, with device_stop and stop_for_grant: no
 * frame a driver domain could have pointed its PCI function at (its DMA
 * memory, its private pages, the shared-heap RRefs it owns) is freed or
 * reused while the function may still write to it. domain_destroy calls
 * this before it frees anything of d; a function that does not confirm it
 * stopped keeps d failed with all of its memory (the destroy fails with
 * -MAPLE_ETIMEDOUT, and a later one tries again), and is granted to nobody
 * until it does stop.
 */
bool device_release(struct domain *d, char *err, uint64_t errlen)
{
	uint64_t h = domain_handle(d);
	for (uint32_t i = 0; i < pci_count(); i++) {
		struct pci_func *f = pci_get(i);
		spin_lock(&devices_lock);
		bool held = f->grant.holder == h;
		spin_unlock(&devices_lock);
		char why[96];
		if (held && !pci_wait_stopped(f, why, sizeof why)) { /* sleeps: no lock */
			spin_lock(&devices_lock);
			f->stuck = true;
			spin_unlock(&devices_lock);
			fmt_snprintf(err, errlen,
				     "its device %s did not stop (%s): it stays failed and keeps "
				     "its memory, destroy it again",
				     f->name, why);
			klog("device: %s of %s (id %u) did not stop: %s; none of %s's memory is "
			     "freed",
			     f->name, d->name, d->id, why, d->name);
			return false;
		}
	}
	spin_lock(&devices_lock);
	for (unsigned i = 0; i < sizeof devices / sizeof devices[0]; i++)
		if (devices[i].grant.holder == h)
			devices[i].grant.holder = 0; /* a RAM disk has no controller state */
	for (uint32_t i = 0; i < pci_count(); i++) {
		struct pci_func *f = pci_get(i);
		if (f->grant.holder == h) {
			f->grant.holder = 0;
			f->stuck = false;
			memset(f->bar_va, 0, sizeof f->bar_va);
		}
	}
	spin_unlock(&devices_lock);
	return true;
}

static void foreach_line(const char *name, const struct device_grant *g, bool stuck,
			 void (*fn)(const char *line, void *arg), void *arg)
{
	char holder[96], line[160];
	spin_lock(&devices_lock);
	describe_holder(g, holder, sizeof holder);
	fmt_snprintf(line, sizeof line, "%s: granted to %s%s", name, holder,
		     stuck ? " (it did not stop when told: granted to no one else)" : "");
	spin_unlock(&devices_lock);
	fn(line, arg);
}

void device_foreach(void (*fn)(const char *line, void *arg), void *arg)
{
	for (unsigned i = 0; i < sizeof devices / sizeof devices[0]; i++)
		foreach_line(devices[i].name, &devices[i].grant, false, fn, arg);
	for (uint32_t i = 0; i < pci_count(); i++) {
		struct pci_func *f = pci_get(i);
		if (f->name[0])
			foreach_line(f->name, &f->grant, f->stuck, fn, arg);
	}
}
