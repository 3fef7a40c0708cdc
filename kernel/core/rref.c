/*
 * The exchange heap (maple/rref_abi.h). Payloads live in 2 MiB chunks of
 * SHARED-key pages, each chunk holding one power-of-two size class, so a
 * chunk is physically contiguous and a payload's bus address is one
 * addition. Headers live in the TRUSTED header table, which the gate reads
 * and writes to move and borrow RRefs on calls; the kernel keeps a private
 * side table (slot, children) that no domain can reach.
 *
 * One lock guards everything: allocation is a syscall anyway, and the
 * figures are in bench/xcall.
 */
#include <arch/pc/pte.h>
#include <core/domain.h>
#include <core/log.h>
#include <core/panic.h>
#include <core/rref.h>
#include <maple/frame.h>
#include <maple/rref_abi.h>
#include <maple/spinlock.h>
#include <maple/string.h>
#include <mm/vm.h>

#define CLASSES	       (21 - RREF_MIN_SHIFT + 1) /* 64 B .. 2 MiB */
#define CHUNK_PAGES    (SHARED_CHUNK / PAGE_SIZE)
#define MAX_NEST_DEPTH 16

struct chunk {
	uint64_t pa;   /* 0: not allocated */
	uint8_t shift; /* object size = 1 << shift */
	uint32_t used; /* live objects */
	bool empty;    /* emptied: trim_empty_chunks unmaps it */
	uint64_t free_map[SHARED_CHUNK >> RREF_MIN_SHIFT >> 6]; /* bit set: slot in use */
};

/* What the kernel alone knows about each header. */
struct rref_meta {
	uint16_t chunk;
	uint32_t slot;
	uint32_t first_child;
	uint32_t next_sibling;
};

static struct rref_header *headers; /* the TRUSTED table, through the direct map */
static struct rref_meta *meta;
static struct chunk *chunks;
static uint32_t free_headers[RREF_MAX];
static uint32_t nfree_headers;
static struct rref_stats stats;
static struct spinlock heap_lock = SPINLOCK_INIT("rref");

static uint64_t pte_key(int key)
{
	return (uint64_t)key << PTE_PKEY_SHIFT;
}

/* Contiguous frames for a kernel-private table, zeroed. */
static void *table_alloc(uint64_t bytes)
{
	uint64_t pages = (bytes + PAGE_SIZE - 1) / PAGE_SIZE;
	uint64_t pa = frame_alloc_contig(pages, 1);
	if (!pa)
		panic("rref: no memory for a %lu KiB table", bytes >> 10);
	memset(phys_to_virt(pa), 0, pages * PAGE_SIZE);
	return phys_to_virt(pa);
}

void rref_init(void)
{
	uint64_t bytes = (uint64_t)RREF_MAX * RREF_HDR_SIZE;
	headers = table_alloc(bytes);
	for (uint64_t off = 0; off < bytes; off += PAGE_SIZE)
		if (vm_map_page(RREF_TABLE_VA + off, virt_to_phys((char *)headers + off),
				PTE_U | PTE_W | PTE_NX | pte_key(PKEY_TRUSTED)) < 0)
			panic("rref: cannot map the header table");
	meta = table_alloc(sizeof(struct rref_meta) * RREF_MAX);
	chunks = table_alloc(sizeof(struct chunk) * SHARED_CHUNKS);
	for (uint32_t i = RREF_MAX - 1; i >= 1; i--)
		free_headers[nfree_headers++] = i;
	klog("rref: shared heap at %#lx (%u chunks of 2 MiB max), %u headers at %#lx",
	     SHARED_HEAP_VA, SHARED_CHUNKS, RREF_MAX - 1, RREF_TABLE_VA);
}

static unsigned class_shift(uint64_t size)
{
	unsigned s = RREF_MIN_SHIFT;
	while ((1UL << s) < size)
		s++;
	return s;
}

/* A chunk of the class with a free slot, mapping a new one if needed. Lock held. */
static int chunk_for(unsigned shift)
{
	int empty = -1;
	for (int i = 0; i < SHARED_CHUNKS; i++) {
		struct chunk *c = &chunks[i];
		if (c->pa && c->shift == shift && c->used < (SHARED_CHUNK >> shift)) {
			c->empty = false;
			return i;
		}
		if (!c->pa && empty < 0)
			empty = i;
	}
	if (empty < 0)
		return -1;
	uint64_t pa = frame_alloc_contig(CHUNK_PAGES, CHUNK_PAGES);
	if (!pa)
		return -1;
	uint64_t va = SHARED_HEAP_VA + (uint64_t)empty * SHARED_CHUNK;
	for (uint64_t i = 0; i < CHUNK_PAGES; i++)
		vm_map_page(va + i * PAGE_SIZE, pa + i * PAGE_SIZE,
			    PTE_U | PTE_W | PTE_NX | pte_key(PKEY_SHARED));
	struct chunk *c = &chunks[empty];
	memset(c, 0, sizeof *c);
	c->pa = pa;
	c->shift = (uint8_t)shift;
	stats.chunks++;
	return empty;
}

static uint64_t handle_of(uint32_t idx)
{
	return ((uint64_t)idx << RREF_INDEX_SHIFT) | headers[idx].payload;
}

/* The header index of a handle, or 0 when it names no live RRef. */
static uint32_t index_of(uint64_t handle)
{
	uint64_t idx = handle >> RREF_INDEX_SHIFT;
	if (!idx || idx >= RREF_MAX || !headers[idx].payload ||
	    headers[idx].payload != (handle & RREF_ADDR_MASK))
		return 0;
	return (uint32_t)idx;
}

/* The domain owning idx, through its parents. Lock held. */
static uint32_t effective_owner(uint32_t idx)
{
	for (int depth = 0; depth < MAX_NEST_DEPTH && idx; depth++) {
		if (headers[idx].owner != RREF_OWNER_NESTED)
			return headers[idx].owner;
		idx = headers[idx].parent;
	}
	return 0;
}

long rref_alloc(uint32_t owner, uint32_t type, uint64_t size)
{
	if (!size || size > RREF_MAX_SIZE)
		return -MAPLE_EINVAL;
	unsigned shift = class_shift(size);
	spin_lock(&heap_lock);
	int ci = nfree_headers ? chunk_for(shift) : -1;
	if (ci < 0) {
		stats.failures++;
		spin_unlock(&heap_lock);
		return -MAPLE_ENOMEM;
	}
	struct chunk *c = &chunks[ci];
	uint32_t slot = 0;
	while (c->free_map[slot / 64] & (1UL << (slot % 64)))
		slot++;
	c->free_map[slot / 64] |= 1UL << (slot % 64);
	c->used++;
	uint32_t idx = free_headers[--nfree_headers];
	uint64_t off = (uint64_t)slot << shift;
	memset(phys_to_virt(c->pa + off), 0, size);
	headers[idx] = (struct rref_header){
		.payload = SHARED_HEAP_VA + (uint64_t)ci * SHARED_CHUNK + off,
		.owner = (uint16_t)owner,
		.type = type,
		.size = (uint32_t)size,
	};
	meta[idx] = (struct rref_meta){.chunk = (uint16_t)ci, .slot = slot};
	stats.live++;
	stats.allocs++;
	long h = (long)handle_of(idx);
	spin_unlock(&heap_lock);
	return h;
}

/* Unlink idx from its parent's child list. Lock held. */
static void unlink_child(uint32_t idx)
{
	uint32_t *pp = &meta[headers[idx].parent].first_child;
	while (*pp && *pp != idx)
		pp = &meta[*pp].next_sibling;
	if (*pp)
		*pp = meta[idx].next_sibling;
	meta[idx].next_sibling = 0;
}

/* Free idx and everything nested in it. Lock held. */
static void free_tree(uint32_t idx)
{
	while (meta[idx].first_child) {
		uint32_t child = meta[idx].first_child;
		meta[idx].first_child = meta[child].next_sibling;
		free_tree(child);
	}
	struct chunk *c = &chunks[meta[idx].chunk];
	c->free_map[meta[idx].slot / 64] &= ~(1UL << (meta[idx].slot % 64));
	if (--c->used == 0)
		c->empty = true;
	memset(&headers[idx], 0, sizeof headers[idx]);
	memset(&meta[idx], 0, sizeof meta[idx]);
	free_headers[nfree_headers++] = idx;
	stats.live--;
	stats.frees++;
}

/* Give emptied chunks back when a domain is reclaimed (a plain free keeps
 * them for the next allocation). unmap_region flushes every TLB before the
 * frames go, so it runs outside the lock. */
static void trim_empty_chunks(void)
{
	for (int i = 0; i < SHARED_CHUNKS; i++) {
		spin_lock(&heap_lock);
		bool take = chunks[i].empty && chunks[i].used == 0;
		if (take) {
			chunks[i].pa = 0;
			chunks[i].empty = false;
			stats.chunks--;
		}
		spin_unlock(&heap_lock);
		if (take)
			unmap_region(SHARED_HEAP_VA + (uint64_t)i * SHARED_CHUNK, CHUNK_PAGES,
				     true);
	}
}

long rref_free(uint32_t caller, uint64_t handle)
{
	spin_lock(&heap_lock);
	uint32_t idx = index_of(handle);
	long r = -MAPLE_EINVAL;
	if (idx) {
		struct rref_header *h = &headers[idx];
		if (h->owner != caller || h->borrows) {
			r = -MAPLE_EPERM; /* nested, someone else's, or lent out */
		} else {
			free_tree(idx);
			r = 0;
		}
	}
	spin_unlock(&heap_lock);
	return r;
}

long rref_nest(uint32_t caller, uint64_t child, uint64_t parent)
{
	spin_lock(&heap_lock);
	uint32_t c = index_of(child), p = index_of(parent);
	long r = -MAPLE_EINVAL;
	if (c && p && c != p) {
		bool cycle = false;
		for (uint32_t up = p; up && !cycle;
		     up = headers[up].owner == RREF_OWNER_NESTED ? headers[up].parent : 0)
			cycle = up == c;
		if (headers[c].owner != caller || headers[c].borrows ||
		    effective_owner(p) != caller || cycle) {
			r = -MAPLE_EPERM;
		} else {
			headers[c].owner = RREF_OWNER_NESTED;
			headers[c].parent = p;
			meta[c].next_sibling = meta[p].first_child;
			meta[p].first_child = c;
			r = 0;
		}
	}
	spin_unlock(&heap_lock);
	return r;
}

long rref_unnest(uint32_t caller, uint64_t child)
{
	spin_lock(&heap_lock);
	uint32_t c = index_of(child);
	long r = -MAPLE_EINVAL;
	if (c) {
		if (headers[c].owner != RREF_OWNER_NESTED || effective_owner(c) != caller) {
			r = -MAPLE_EPERM;
		} else {
			unlink_child(c);
			headers[c].owner = (uint16_t)caller;
			headers[c].parent = 0;
			r = 0;
		}
	}
	spin_unlock(&heap_lock);
	return r;
}

long rref_bus(uint32_t caller, uint64_t handle)
{
	spin_lock(&heap_lock);
	uint32_t idx = index_of(handle);
	long r = -MAPLE_EINVAL;
	if (idx && effective_owner(idx) == caller)
		r = (long)(chunks[meta[idx].chunk].pa +
			   ((uint64_t)meta[idx].slot << chunks[meta[idx].chunk].shift));
	else if (idx)
		r = -MAPLE_EPERM;
	spin_unlock(&heap_lock);
	return r;
}

long rref_info(uint64_t handle)
{
	spin_lock(&heap_lock);
	uint32_t idx = index_of(handle);
	long r = idx ? (long)(effective_owner(idx) | ((uint64_t)headers[idx].borrows << 16))
		     : -MAPLE_EINVAL;
	spin_unlock(&heap_lock);
	return r;
}

void rref_end_borrow(uint64_t handle)
{
	spin_lock(&heap_lock);
	uint32_t idx = index_of(handle);
	if (idx && headers[idx].borrows)
		headers[idx].borrows--;
	spin_unlock(&heap_lock);
}

uint64_t rref_reclaim(uint32_t owner)
{
	uint64_t n = 0;
	spin_lock(&heap_lock);
	for (uint32_t idx = 1; idx < RREF_MAX; idx++) {
		if (headers[idx].payload && headers[idx].owner == owner) {
			uint64_t live = stats.live;
			free_tree(idx);
			n += live - stats.live;
		}
	}
	spin_unlock(&heap_lock);
	trim_empty_chunks();
	return n;
}

void rref_get_stats(struct rref_stats *out)
{
	spin_lock(&heap_lock);
	*out = stats;
	spin_unlock(&heap_lock);
}
