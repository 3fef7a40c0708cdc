/*
 * A domain's memory: user pages tagged with its protection key, mapped in
 * regions the kernel tracks, so that destroying the domain returns every
 * frame. Layout of a domain's 1 GiB slot:
 *
 *   base + 0                  the image (at most 256 MiB)
 *   base + DOMAIN_HEAP_OFF    private heap regions, handed out in order
 *   base + DOMAIN_STACK_OFF   one stack per thread that enters, each with
 *                             an unmapped guard below it
 *
 * Every frame mapped for a domain, and every page table made to map it,
 * is charged against its memory limit (domain.h, struct domain_limits),
 * and comes from beyond the kernel reserve (mm/frame.h).
 *
 * The kernel writes domain memory through the direct map, never through
 * the user address, so PKRU never stands in its way.
 */
#include <arch/x86/pte.h>
#include <arch/x86/tlb.h>
#include <core/log.h>
#include <domain/domain.h>
#include <lib/string.h>
#include <mm/frame.h>
#include <mm/kmalloc.h>
#include <mm/vm.h>

#define UNMAP_CHUNK 256 /* pages per shootdown; bounds the stack array */

uint64_t unmap_region(uint64_t va, uint64_t pages, bool free_pages)
{
	uint64_t frames[UNMAP_CHUNK + VM_UNMAP_SLACK], tables = 0;
	for (uint64_t done = 0; done < pages; done += UNMAP_CHUNK) {
		uint64_t chunk = pages - done < UNMAP_CHUNK ? pages - done : UNMAP_CHUNK, leaves;
		uint64_t n = vm_unmap_user_range(va + done * PAGE_SIZE, chunk, frames, &leaves);
		/* Another CPU may still cache a translation, or a page-table
		 * entry, that leads to these frames: flush everywhere first. */
		tlb_flush_all_cpus();
		for (uint64_t i = free_pages ? 0 : leaves; i < n; i++)
			frame_free(frames[i], 1);
		tables += n - leaves;
	}
	return tables;
}

/*
 * The memory charge. Invariant: d->mem_charged <= d->limits.mem_pages, and
 * it covers every frame mapped for d (image, heap, stacks, the page tables
 * below them) plus what maps in flight have reserved. A map reserves its
 * worst case up front, under d->lock, so that two threads of d cannot
 * both pass the check, then gives back what it did not use. Device memory
 * is not the machine's to run out of and is not charged; its tables are.
 */

/* Most page tables a map of [va, va + len) with leaves at `level` (1: 4
 * KiB, 2: 2 MiB) can make: one per span of each table level it touches. */
static uint64_t tables_worst(uint64_t va, uint64_t len, int level)
{
	uint64_t last = va + len - 1, n = 0;
	for (int shift = 12 + 9 * level; shift <= 39; shift += 9)
		n += (last >> shift) - (va >> shift) + 1;
	return n;
}

static long charge(struct domain *d, uint64_t frames)
{
	long rc = 0;
	spin_lock(&d->lock);
	if (frames > d->limits.mem_pages || d->mem_charged > d->limits.mem_pages - frames)
		rc = -MAPLE_EQUOTA;
	else
		d->mem_charged += frames;
	spin_unlock(&d->lock);
	return rc;
}

/* Give back `frames` of which `tables` were page tables counted in
 * d->tables. Clamped: a table made by one map and freed by another's
 * unwinding under a race is charged to neither. */
static void uncharge(struct domain *d, uint64_t frames, uint64_t tables)
{
	spin_lock(&d->lock);
	d->mem_charged -= frames < d->mem_charged ? frames : d->mem_charged;
	d->tables -= tables < d->tables ? tables : d->tables;
	spin_unlock(&d->lock);
}

/*
 * Record a mapped region as d's, and settle its charge: `reserved` was
 * taken up front, `tables` were made. Returns its address. Once a destroyer
 * has claimed d (under the same lock), its teardown may already have freed
 * the regions it knew of: a region mapped after that is unmapped and freed
 * here instead (a thread asking for its stack in d as d goes), so none
 * outlives d, and the map fails with -MAPLE_EDEAD.
 */
static long region_add(struct domain *d, struct domain_region *r, uint64_t reserved,
		       uint64_t tables)
{
	uint64_t used = (r->device ? 0 : r->pages) + tables;
	spin_lock(&d->lock);
	bool live = d->state != DOMAIN_DESTROYING && d->state != DOMAIN_GONE;
	if (live) {
		r->next = d->regions;
		d->regions = r;
		d->pages += r->pages;
		d->tables += tables;
		d->mem_charged -= reserved - used; /* used <= reserved: tables_worst */
	} else {
		d->mem_charged -= reserved < d->mem_charged ? reserved : d->mem_charged;
	}
	spin_unlock(&d->lock);
	if (live)
		return (long)r->va;
	unmap_region(r->va, r->pages, !r->device);
	kfree(r);
	return -MAPLE_EDEAD;
}

/*
 * Unmap a list of regions with one TLB shootdown for all of them (a
 * domain's destruction is on the path of a driver's restart). Falls back
 * to one region at a time when there is no memory for the frame list.
 * Returns how many page tables went.
 */
static uint64_t unmap_regions(const struct domain_region *list)
{
	uint64_t room = 0, tables = 0;
	for (const struct domain_region *r = list; r; r = r->next)
		room += r->pages + VM_UNMAP_SLACK;
	uint64_t *frames = room ? kmalloc(room * sizeof *frames) : NULL;
	if (!frames) {
		for (const struct domain_region *r = list; r; r = r->next)
			tables += unmap_region(r->va, r->pages, !r->device);
		return tables;
	}
	uint64_t n = 0;
	for (const struct domain_region *r = list; r; r = r->next) {
		uint64_t leaves, got = vm_unmap_user_range(r->va, r->pages, frames + n, &leaves);
		if (r->device) { /* keep the page tables it emptied, not its pages */
			memmove(frames + n, frames + n + leaves, (got - leaves) * sizeof *frames);
			got -= leaves;
			tables += got;
		} else {
			tables += got - leaves;
		}
		n += got;
	}
	tlb_flush_all_cpus();
	for (uint64_t i = 0; i < n; i++)
		frame_free(frames[i], 1);
	kfree(frames);
	return tables;
}

/* Where the pages of a map come from, and their rights. */
struct map_src {
	uint64_t pa; /* first of contiguous frames the caller owns; 0: fresh zeroed ones */
	uint64_t (*rights)(uint64_t i, const void *arg); /* NULL: flags for every page */
	const void *arg;
	uint64_t flags;
	bool device;	 /* pa is device memory: neither charged nor ever freed */
	uint64_t dma_pa; /* the region is DMA memory at this bus address */
};

static long map_error(struct domain *d, uint64_t va, int vm)
{
	if (vm == VM_ENOMEM)
		return -MAPLE_ENOMEM;
	/* The kernel chose va inside d's own slot: something there already
	 * is a bookkeeping bug, refused rather than overwritten. */
	klog("domain: %s: %#lx is mapped already; map refused", d->name, va);
	return -MAPLE_EINVAL;
}

/* Map `pages` 4 KiB pages at va for d, charged to it, as one region. */
static long map_charged(struct domain *d, uint64_t va, uint64_t pages, const struct map_src *src,
			int32_t thread_slot)
{
	if (!pages)
		return -MAPLE_EINVAL; /* and tables_worst needs a non-empty range */
	uint64_t reserved = (src->device ? 0 : pages) + tables_worst(va, pages * PAGE_SIZE, 1);
	uint64_t tables = 0;
	long rc = charge(d, reserved);
	if (rc < 0)
		return rc;
	struct domain_region *r = kzalloc(sizeof *r);
	if (!r) {
		uncharge(d, reserved, 0);
		return -MAPLE_ENOMEM;
	}
	for (uint64_t i = 0; i < pages; i++) {
		uint64_t pa = src->pa ? src->pa + i * PAGE_SIZE : frame_alloc_domain();
		uint64_t flags = src->rights ? src->rights(i, src->arg) : src->flags;
		int vm = VM_ENOMEM;
		if (pa) {
			if (!src->pa)
				memset(phys_to_virt(pa), 0, PAGE_SIZE);
			vm = vm_map_domain_page(va + i * PAGE_SIZE, pa,
						flags | PTE_U | pte_key(d->pkey), &tables);
		}
		if (vm < 0) {
			/* Unwind: every page and table of this map goes; the
			 * frames of a caller's block stay the caller's. */
			if (pa && !src->pa)
				frame_free(pa, 1);
			unmap_region(va, i, !src->pa);
			uncharge(d, reserved, 0);
			kfree(r);
			return map_error(d, va + i * PAGE_SIZE, vm);
		}
	}
	*r = (struct domain_region){.va = va,
				    .pages = pages,
				    .thread_slot = thread_slot,
				    .device = src->device,
				    .dma_pa = src->dma_pa};
	return region_add(d, r, reserved, tables);
}

static long dmem_map_fresh(struct domain *d, uint64_t va, uint64_t pages, uint64_t pte_flags,
			   int32_t thread_slot)
{
	struct map_src src = {.flags = pte_flags};
	return map_charged(d, va, pages, &src, thread_slot);
}

long dmem_map_image(struct domain *d, uint64_t pa, uint64_t pages,
		    uint64_t (*rights)(uint64_t i, const void *arg), const void *arg)
{
	struct map_src src = {.pa = pa, .rights = rights, .arg = arg};
	return map_charged(d, d->base, pages, &src, -1);
}

uint64_t dmem_map_device(struct domain *d, uint64_t va, const uint64_t *chunks, uint64_t nchunks,
			 uint64_t pte_flags)
{
	if (!nchunks)
		return 0;
	uint64_t reserved = tables_worst(va, nchunks * PAGE_2M, 2), tables = 0;
	if (charge(d, reserved) < 0)
		return 0;
	struct domain_region *r = kzalloc(sizeof *r);
	if (!r) {
		uncharge(d, reserved, 0);
		return 0;
	}
	uint64_t pages = nchunks * (PAGE_2M / PAGE_SIZE);
	for (uint64_t i = 0; i < nchunks; i++) {
		if (vm_map_user_2m(va + i * PAGE_2M, chunks[i],
				   pte_flags | PTE_U | pte_key(d->pkey), &tables) < 0) {
			unmap_region(va, i * (PAGE_2M / PAGE_SIZE), false);
			uncharge(d, reserved, 0);
			kfree(r);
			return 0;
		}
	}
	*r = (struct domain_region){.va = va, .pages = pages, .thread_slot = -1, .device = true};
	long mapped = region_add(d, r, reserved, tables);
	return mapped < 0 ? 0 : (uint64_t)mapped;
}

/* Addresses for len bytes in d's heap window (heap regions, DMA memory,
 * BARs share it): the first, or -MAPLE_EQUOTA when the window is full. */
static long window_take(struct domain *d, uint64_t len)
{
	spin_lock(&d->lock);
	uint64_t va = d->heap_next;
	bool fits =
		len <= DOMAIN_HEAP_MAX && va + len <= d->base + DOMAIN_HEAP_OFF + DOMAIN_HEAP_MAX;
	if (fits)
		d->heap_next += len;
	spin_unlock(&d->lock);
	return fits ? (long)va : -MAPLE_EQUOTA; /* a full window is a limit too */
}

/* A failed map gives its addresses back, unless a later region took the next. */
static void window_give_back(struct domain *d, uint64_t va, uint64_t len)
{
	spin_lock(&d->lock);
	if (d->heap_next == va + len)
		d->heap_next = va;
	spin_unlock(&d->lock);
}

long dmem_heap_grow(struct domain *d, uint64_t bytes)
{
	/* Zero, or more than the whole heap window could ever hold, is a bad
	 * argument, not a limit reached. */
	if (!bytes || bytes > DOMAIN_HEAP_MAX)
		return -MAPLE_EINVAL;
	uint64_t len = bytes < DOMAIN_HEAP_REGION_MIN ? DOMAIN_HEAP_REGION_MIN
						      : (bytes + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	long va = window_take(d, len);
	if (va < 0)
		return va;
	long rc = dmem_map_fresh(d, (uint64_t)va, len / PAGE_SIZE, PTE_W | PTE_NX, -1);
	if (rc < 0)
		window_give_back(d, (uint64_t)va, len);
	return rc;
}

long dmem_dma_alloc(struct domain *d, uint64_t bytes)
{
	if (!bytes || bytes > DMEM_DMA_MAX)
		return -MAPLE_EINVAL;
	uint64_t pages = (bytes + PAGE_SIZE - 1) / PAGE_SIZE;
	long va = window_take(d, pages * PAGE_SIZE);
	if (va < 0)
		return va;
	/* Contiguous, so that one bus address and a length describe any
	 * run of it to a device (no IOMMU: bus address = physical). */
	uint64_t pa = frame_alloc_contig_domain(pages, 1);
	if (!pa) {
		window_give_back(d, (uint64_t)va, pages * PAGE_SIZE);
		return -MAPLE_ENOMEM;
	}
	memset(phys_to_virt(pa), 0, pages * PAGE_SIZE);
	struct map_src src = {.pa = pa, .flags = PTE_W | PTE_NX, .dma_pa = pa};
	long rc = map_charged(d, (uint64_t)va, pages, &src, -1);
	if (rc < 0) { /* nothing mapped: the frames are still ours */
		frame_free(pa, pages);
		window_give_back(d, (uint64_t)va, pages * PAGE_SIZE);
	}
	return rc;
}

long dmem_dma_bus(struct domain *d, uint64_t va)
{
	long bus = -MAPLE_EFAULT;
	spin_lock(&d->lock);
	for (struct domain_region *r = d->regions; r; r = r->next)
		if (r->dma_pa && va >= r->va && va - r->va < r->pages * PAGE_SIZE)
			bus = (long)(r->dma_pa + (va - r->va));
	spin_unlock(&d->lock);
	return bus;
}

long dmem_map_mmio(struct domain *d, uint64_t pa, uint64_t pages)
{
	long va = window_take(d, pages * PAGE_SIZE);
	if (va < 0)
		return va;
	/* PCD | PWT: uncached whatever the memory-type ranges say, as long as
	 * PAT keeps its reset value, which the kernel never changes (Intel SDM
	 * Vol. 3A 12.12.3, table 12-11: PAT entry 3 is UC). */
	struct map_src src = {
		.pa = pa, .flags = PTE_W | PTE_NX | PTE_PCD | PTE_PWT, .device = true};
	long rc = map_charged(d, (uint64_t)va, pages, &src, -1);
	if (rc < 0)
		window_give_back(d, (uint64_t)va, pages * PAGE_SIZE);
	return rc;
}

long dmem_stack_alloc(struct domain *d, int32_t thread_slot)
{
	uint64_t slot = d->base + DOMAIN_STACK_OFF + (uint64_t)thread_slot * DOMAIN_STACK_SLOT;
	uint64_t base = slot + DOMAIN_STACK_SLOT - DOMAIN_STACK_SIZE;
	long rc =
		dmem_map_fresh(d, base, DOMAIN_STACK_SIZE / PAGE_SIZE, PTE_W | PTE_NX, thread_slot);
	return rc < 0 ? rc : (long)(base + DOMAIN_STACK_SIZE);
}

void dmem_free(struct domain *d, int32_t thread_slot, bool all)
{
	struct domain_region *gone = NULL;
	uint64_t pages = 0;
	spin_lock(&d->lock);
	struct domain_region **pp = &d->regions;
	while (*pp) {
		struct domain_region *r = *pp;
		if (all || r->thread_slot == thread_slot) {
			*pp = r->next;
			d->pages -= r->pages;
			pages += r->device ? 0 : r->pages;
			r->next = gone;
			gone = r;
		} else {
			pp = &r->next;
		}
	}
	spin_unlock(&d->lock);
	uint64_t tables = unmap_regions(gone);
	uncharge(d, pages + tables, tables);
	while (gone) {
		struct domain_region *r = gone;
		gone = r->next;
		kfree(r);
	}
}

bool dmem_owns(struct domain *d, uint64_t va, uint64_t len)
{
	if (va + len < va)
		return false;
	bool ok = false;
	spin_lock(&d->lock);
	for (struct domain_region *r = d->regions; r && !ok; r = r->next)
		ok = va >= r->va && va + len <= r->va + r->pages * PAGE_SIZE;
	spin_unlock(&d->lock);
	return ok;
}
