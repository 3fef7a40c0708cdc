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
 * The kernel writes domain memory through the direct map, never through
 * the user address, so PKRU never stands in its way.
 */
#include <arch/pc/pte.h>
#include <core/domain.h>
#include <core/log.h>
#include <core/tlb.h>
#include <maple/frame.h>
#include <maple/string.h>
#include <mm/kmalloc.h>
#include <mm/vm.h>

#define HEAP_REGION_MIN (64UL << 10)

static uint64_t pte_key(int pkey)
{
	return (uint64_t)pkey << PTE_PKEY_SHIFT;
}

#define UNMAP_CHUNK 256 /* pages per shootdown; bounds the stack array */

void unmap_region(uint64_t va, uint64_t pages, bool free_pages)
{
	uint64_t frames[UNMAP_CHUNK + VM_UNMAP_SLACK];
	for (uint64_t done = 0; done < pages; done += UNMAP_CHUNK) {
		uint64_t chunk = pages - done < UNMAP_CHUNK ? pages - done : UNMAP_CHUNK, leaves;
		uint64_t n = vm_unmap_user_range(va + done * PAGE_SIZE, chunk, frames, &leaves);
		/* Another CPU may still cache a translation, or a page-table
		 * entry, that leads to these frames: flush everywhere first. */
		tlb_flush_all_cpus();
		for (uint64_t i = free_pages ? 0 : leaves; i < n; i++)
			frame_free(frames[i], 1);
	}
}

/*
 * Record a mapped region as d's; returns its address. Once a destroyer has
 * claimed d (under the same lock), its teardown may already have freed the
 * regions it knew of: a region mapped after that is unmapped and freed here
 * instead (a thread asking for its stack in d as d goes), so none outlives d.
 */
static uint64_t region_add(struct domain *d, struct domain_region *r)
{
	spin_lock(&d->lock);
	bool live = d->state != DOMAIN_DESTROYING && d->state != DOMAIN_GONE;
	if (live) {
		r->next = d->regions;
		d->regions = r;
		d->pages += r->pages;
	}
	spin_unlock(&d->lock);
	if (live)
		return r->va;
	unmap_region(r->va, r->pages, !r->device);
	kfree(r);
	return 0;
}

/*
 * Unmap a list of regions with one TLB shootdown for all of them (a
 * domain's destruction is on the path of a driver's restart). Falls back
 * to one region at a time when there is no memory for the frame list.
 */
static void unmap_regions(const struct domain_region *list)
{
	uint64_t room = 0;
	for (const struct domain_region *r = list; r; r = r->next)
		room += r->pages + VM_UNMAP_SLACK;
	uint64_t *frames = room ? kmalloc(room * sizeof *frames) : NULL;
	if (!frames) {
		for (const struct domain_region *r = list; r; r = r->next)
			unmap_region(r->va, r->pages, !r->device);
		return;
	}
	uint64_t n = 0;
	for (const struct domain_region *r = list; r; r = r->next) {
		uint64_t leaves, got = vm_unmap_user_range(r->va, r->pages, frames + n, &leaves);
		if (r->device) { /* keep the page tables it emptied, not its pages */
			memmove(frames + n, frames + n + leaves, (got - leaves) * sizeof *frames);
			got -= leaves;
		}
		n += got;
	}
	tlb_flush_all_cpus();
	for (uint64_t i = 0; i < n; i++)
		frame_free(frames[i], 1);
	kfree(frames);
}

uint64_t dmem_map_fresh(struct domain *d, uint64_t va, uint64_t pages, uint64_t pte_flags,
			int32_t thread_slot)
{
	struct domain_region *r = kzalloc(sizeof *r);
	if (!r)
		return 0;
	for (uint64_t i = 0; i < pages; i++) {
		uint64_t pa = frame_alloc();
		if (pa)
			memset(phys_to_virt(pa), 0, PAGE_SIZE);
		if (!pa ||
		    vm_map_page(va + i * PAGE_SIZE, pa, pte_flags | PTE_U | pte_key(d->pkey)) < 0) {
			if (pa)
				frame_free(pa, 1);
			unmap_region(va, i, true);
			kfree(r);
			return 0;
		}
	}
	*r = (struct domain_region){.va = va, .pages = pages, .thread_slot = thread_slot};
	return region_add(d, r);
}

uint64_t dmem_map_device(struct domain *d, uint64_t va, const uint64_t *chunks, uint64_t nchunks,
			 uint64_t pte_flags)
{
	struct domain_region *r = kzalloc(sizeof *r);
	if (!r)
		return 0;
	uint64_t pages = nchunks * (PAGE_2M / PAGE_SIZE);
	for (uint64_t i = 0; i < nchunks; i++) {
		if (vm_map_user_2m(va + i * PAGE_2M, chunks[i],
				   pte_flags | PTE_U | pte_key(d->pkey)) < 0) {
			unmap_region(va, i * (PAGE_2M / PAGE_SIZE), false);
			kfree(r);
			return 0;
		}
	}
	*r = (struct domain_region){.va = va, .pages = pages, .thread_slot = -1, .device = true};
	return region_add(d, r);
}

uint64_t dmem_heap_grow(struct domain *d, uint64_t bytes)
{
	if (!bytes || bytes > DOMAIN_HEAP_MAX)
		return 0;
	uint64_t len = bytes < HEAP_REGION_MIN ? HEAP_REGION_MIN
					       : (bytes + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	spin_lock(&d->lock);
	uint64_t va = d->heap_next;
	bool fits = va + len <= d->base + DOMAIN_HEAP_OFF + DOMAIN_HEAP_MAX;
	if (fits)
		d->heap_next += len;
	spin_unlock(&d->lock);
	if (!fits)
		return 0;
	return dmem_map_fresh(d, va, len / PAGE_SIZE, PTE_W | PTE_NX, -1);
}

uint64_t dmem_stack_alloc(struct domain *d, int32_t thread_slot)
{
	uint64_t slot = d->base + DOMAIN_STACK_OFF + (uint64_t)thread_slot * DOMAIN_STACK_SLOT;
	uint64_t base = slot + DOMAIN_STACK_SLOT - DOMAIN_STACK_SIZE;
	if (!dmem_map_fresh(d, base, DOMAIN_STACK_SIZE / PAGE_SIZE, PTE_W | PTE_NX, thread_slot))
		return 0;
	return base + DOMAIN_STACK_SIZE;
}

void dmem_free(struct domain *d, int32_t thread_slot, bool all)
{
	struct domain_region *gone = NULL;
	spin_lock(&d->lock);
	struct domain_region **pp = &d->regions;
	while (*pp) {
		struct domain_region *r = *pp;
		if (all || r->thread_slot == thread_slot) {
			*pp = r->next;
			d->pages -= r->pages;
			r->next = gone;
			gone = r;
		} else {
			pp = &r->next;
		}
	}
	spin_unlock(&d->lock);
	unmap_regions(gone);
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
