/*
 * The exchange heap (maple/rref_abi.h). Payloads live in 2 MiB chunks of
 * SHARED-key pages, each chunk holding one power-of-two size class, so a
 * chunk is physically contiguous and a payload's bus address is one
 * addition. Headers live in the TRUSTED header table, which the gate reads
 * and changes to move and borrow RRefs on calls; the kernel keeps a private
 * side table (slot, tree links, height, who pays) that no domain can reach.
 *
 * One lock orders the kernel's own changes. The gate takes no lock, so
 * every change the kernel makes to a header the gate may change too (a
 * live root) is a compare-and-swap on its state word, under the protocol
 * described at the top of xheap/rref.gate.c. Nothing here recurses: a
 * tree is freed by walking its links, and trees are at most
 * RREF_MAX_LEVELS deep anyway.
 */
#include <core/log.h>
#include <core/spinlock.h>
#include <lib/string.h>
#include <maple/abi.h>
#include <maple/rref_abi.h>
#include <xheap/heap_platform.h>
#include <xheap/rref.h>

#include <stdbool.h>

#define SHIFTS	    (21 + 1) /* size classes are shifts 6 (64 B) .. 21 (2 MiB) */
#define CHUNK_PAGES (SHARED_CHUNK / HEAP_PAGE)
#define NO_CLASS    0 /* the shift of a chunk that holds no class (a failed map) */
_Static_assert(RREF_MAX_SIZE == 1UL << (SHIFTS - 1), "the largest class is a whole chunk");

struct chunk {
	uint64_t pa;	 /* 0: not allocated; its platform address (heap_chunk_map) */
	uint8_t shift;	 /* object size = 1 << shift */
	uint32_t used;	 /* live objects */
	uint32_t mapped; /* pages mapped (CHUNK_PAGES unless a map failed) */
	bool empty;	 /* emptied: trim_empty_chunks may unmap it */
	uint64_t free_map[SHARED_CHUNK >> RREF_MIN_SHIFT >> 6]; /* bit set: slot in use */
};

/* What the kernel alone knows about each header. */
struct rref_meta {
	uint32_t type;
	uint32_t size;
	uint32_t slot;
	uint32_t parent; /* when nested */
	uint32_t first_child;
	uint32_t next_sibling;
	uint16_t chunk;
	uint8_t height; /* levels of nesting below it: 0 for a leaf */
	uint8_t payer;	/* the domain charged for it */
	bool recall;	/* SYS_RREF_RECALL: back to the payer if a holder dies */
};

struct usage {
	uint64_t count, bytes;
};

static struct rref_header *headers; /* the TRUSTED table, through the direct map */
static struct rref_meta *meta;
static struct chunk *chunks;
/* Free headers, reused first in, first out: a header's generation then
 * advances once per RRef_MAX-ish allocations, not once per allocation. */
static uint32_t free_ring[RREF_MAX];
static uint32_t ring_head, ring_tail; /* free headers: ring_tail - ring_head */
static struct usage usage[GATE_MAX_DOMAINS];
static uint32_t empties[SHIFTS]; /* empty chunks mapped, per shift */
static struct rref_stats stats;
static struct spinlock heap_lock = SPINLOCK_INIT("rref");

static void ring_put(uint32_t idx)
{
	free_ring[ring_tail++ % RREF_MAX] = idx;
}

void rref_init(void)
{
	headers = heap_header_table();
	meta = heap_private_alloc(sizeof(struct rref_meta) * RREF_MAX);
	chunks = heap_private_alloc(sizeof(struct chunk) * SHARED_CHUNKS);
	for (uint32_t i = 1; i < RREF_MAX; i++)
		ring_put(i);
	klog("rref: shared heap at %#lx (%u chunks of 2 MiB max), %u headers at %#lx, "
	     "%u levels of nesting; per domain %u RRefs and %lu MiB by default",
	     SHARED_HEAP_VA, SHARED_CHUNKS, RREF_MAX - 1, RREF_TABLE_VA, RREF_MAX_LEVELS,
	     RREF_DEFAULT_HEADERS, RREF_DEFAULT_BYTES >> 20);
}

static unsigned class_shift(uint64_t size)
{
	unsigned s = RREF_MIN_SHIFT;
	while ((1UL << s) < size)
		s++;
	return s;
}

static void trim_empty_chunks(bool keep_one);

static uint64_t load_state(uint32_t idx)
{
	return __atomic_load_n(&headers[idx].state, __ATOMIC_ACQUIRE);
}

/* A change the gate may race with (rref.gate.c): fails, updating
 * *expected, if the state is no longer *expected. */
static bool cas_state(uint32_t idx, uint64_t *expected, uint64_t desired)
{
	return __atomic_compare_exchange_n(&headers[idx].state, expected, desired, false,
					   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/* A change of a header the gate never changes (free, nested, or pinned
 * busy by the kernel itself). */
static void set_state(uint32_t idx, uint64_t s)
{
	__atomic_store_n(&headers[idx].state, s, __ATOMIC_RELEASE);
}

/* A chunk of the class with a free slot, mapping a new one if needed, or
 * -1. A map that fails part way leaves the chunk empty with no class, for
 * trim_empty_chunks to unmap after a TLB shootdown (a domain may have
 * touched the pages already). Lock held. */
static int chunk_for(unsigned shift, bool *trim)
{
	int empty = -1;
	for (int i = 0; i < SHARED_CHUNKS; i++) {
		struct chunk *c = &chunks[i];
		if (c->pa && c->shift == shift && c->used < (SHARED_CHUNK >> shift)) {
			if (c->empty)
				empties[shift]--;
			c->empty = false;
			return i;
		}
		if (!c->pa && empty < 0)
			empty = i;
	}
	if (empty < 0)
		return -1;
	uint64_t pa = 0;
	uint64_t mapped = heap_chunk_map(SHARED_HEAP_VA + (uint64_t)empty * SHARED_CHUNK, &pa);
	if (!mapped)
		return -1;
	struct chunk *c = &chunks[empty];
	memset(c, 0, sizeof *c);
	c->pa = pa;
	c->mapped = (uint32_t)mapped;
	stats.chunks++;
	if (mapped < CHUNK_PAGES) {
		c->shift = NO_CLASS;
		c->empty = true;
		empties[NO_CLASS]++;
		*trim = true;
		return -1;
	}
	c->shift = (uint8_t)shift;
	return empty;
}

/* The header index of a handle, or 0 when it names no live RRef: its
 * generation and payload must be the header's. With the lock held this
 * stays true (only the kernel frees). */
static uint32_t index_of(uint64_t handle)
{
	uint32_t idx = RREF_HANDLE_INDEX(handle);
	if (!idx || idx >= RREF_MAX)
		return 0;
	uint64_t s = load_state(idx);
	if (rs_owner(s) == RS_OWNER_FREE || rs_gen(s) != RREF_HANDLE_GEN(handle) ||
	    headers[idx].payload != RREF_HANDLE_PTR(handle))
		return 0;
	return idx;
}

static uint64_t handle_of(uint32_t idx)
{
	return RREF_HANDLE(idx, rs_gen(load_state(idx)), headers[idx].payload);
}

/* The root of idx's tree, and its depth below that root. Trees are at most
 * RREF_MAX_LEVELS deep (rref_nest), which also bounds this walk. Lock held. */
static uint32_t root_of(uint32_t idx, uint32_t *depth)
{
	uint32_t d = 0;
	while (rs_owner(load_state(idx)) == RS_OWNER_NESTED && d < RREF_MAX_LEVELS) {
		idx = meta[idx].parent;
		d++;
	}
	if (depth)
		*depth = d;
	return idx;
}

/* The domain owning idx, through its parents. Lock held. */
static uint32_t effective_owner(uint32_t idx)
{
	return rs_owner(load_state(root_of(idx, NULL)));
}

long rref_alloc(uint32_t owner, const struct rref_limits *limits, uint32_t type, uint64_t size)
{
	if (!size || size > RREF_MAX_SIZE)
		return -MAPLE_EINVAL;
	if (!owner || owner >= GATE_MAX_DOMAINS)
		return -MAPLE_EINVAL; /* not a domain id: callers pass the caller's own */
	unsigned shift = class_shift(size);
	uint64_t bytes = 1UL << shift;
	bool trim = false;
	long r;
	spin_lock(&heap_lock);
	struct usage *u = &usage[owner];
	int ci = -1;
	if (u->count + 1 > limits->headers || u->bytes + bytes > limits->bytes)
		r = -MAPLE_EQUOTA;
	else if (ring_head == ring_tail || (ci = chunk_for(shift, &trim)) < 0)
		r = -MAPLE_ENOMEM;
	if (ci < 0) {
		stats.failures++;
		spin_unlock(&heap_lock);
		if (trim)
			trim_empty_chunks(true);
		return r;
	}
	struct chunk *c = &chunks[ci];
	uint32_t slot = 0;
	while (c->free_map[slot / 64] & (1UL << (slot % 64)))
		slot++;
	c->free_map[slot / 64] |= 1UL << (slot % 64);
	c->used++;
	uint32_t idx = free_ring[ring_head++ % RREF_MAX];
	uint64_t off = (uint64_t)slot << shift;
	memset(heap_chunk_bytes(c->pa, off), 0, size);
	meta[idx] = (struct rref_meta){
		.type = type,
		.size = (uint32_t)size,
		.slot = slot,
		.chunk = (uint16_t)ci,
		.payer = (uint8_t)owner,
	};
	u->count++;
	u->bytes += bytes;
	/* A free header: only the kernel changes it, and the payload must be
	 * in place before the state makes it live for the gate. */
	headers[idx].payload = SHARED_HEAP_VA + (uint64_t)ci * SHARED_CHUNK + off;
	set_state(idx, RS_STATE(owner, rs_gen(load_state(idx))));
	stats.live++;
	stats.allocs++;
	r = (long)handle_of(idx);
	spin_unlock(&heap_lock);
	return r;
}

/* Give back idx's header, slot and charge; its children are gone already.
 * Returns whether its chunk emptied while another of its class is empty
 * too (then trim_empty_chunks should run). Lock held; idx is nested or
 * pinned busy by the kernel, so the gate cannot change it. */
static bool release(uint32_t idx)
{
	struct rref_meta *m = &meta[idx];
	struct chunk *c = &chunks[m->chunk];
	c->free_map[m->slot / 64] &= ~(1UL << (m->slot % 64));
	usage[m->payer].count--;
	usage[m->payer].bytes -= 1UL << c->shift;
	bool trim = false;
	if (--c->used == 0) {
		c->empty = true;
		trim = ++empties[c->shift] > 1;
	}
	/* The next generation: every handle to this RRef is stale from here. */
	set_state(idx, RS_STATE(RS_OWNER_FREE, (rs_gen(load_state(idx)) + 1) & RREF_GEN_MASK));
	headers[idx].payload = 0;
	memset(m, 0, sizeof *m);
	ring_put(idx);
	stats.live--;
	stats.frees++;
	return trim;
}

/*
 * Free root and everything nested in it, without recursion: go down first
 * children to a leaf, free it (it is its parent's first child, so
 * unlinking it is one store), and go back up. Each header is visited a
 * bounded number of times; the kernel stack does not grow with the tree.
 * Lock held; root is pinned busy by the kernel.
 */
static bool free_tree(uint32_t root)
{
	bool trim = false;
	uint32_t idx = root;
	for (;;) {
		while (meta[idx].first_child)
			idx = meta[idx].first_child;
		uint32_t up = idx == root ? 0 : meta[idx].parent;
		if (up)
			meta[up].first_child = meta[idx].next_sibling;
		trim |= release(idx);
		if (!up)
			return trim;
		idx = up;
	}
}

/*
 * Unmap emptied chunks and chunks whose map failed: all of them when a
 * domain is reclaimed, else all but one per size class (a plain free keeps
 * one for the next allocation of its class, so an alloc+free loop does
 * not map and unmap 2 MiB each time, and a domain cannot keep more than
 * one empty chunk per class mapped). heap_chunk_unmap flushes every TLB
 * before the memory goes, so it runs outside the lock.
 */
static void trim_empty_chunks(bool keep_one)
{
	bool kept[SHIFTS] = {false};
	for (int i = 0; i < SHARED_CHUNKS; i++) {
		spin_lock(&heap_lock);
		struct chunk *c = &chunks[i];
		bool take = c->pa && c->empty && c->used == 0;
		if (take && keep_one && c->shift != NO_CLASS && !kept[c->shift])
			take = !(kept[c->shift] = true);
		uint64_t pa = c->pa, mapped = c->mapped;
		if (take) {
			/* Neither used nor reused (pa stays set, no class) until
			 * its pages are gone: a new chunk mapped in this slot now
			 * would be unmapped with it. */
			empties[c->shift]--;
			c->empty = false;
			c->shift = NO_CLASS;
		}
		spin_unlock(&heap_lock);
		if (!take)
			continue;
		heap_chunk_unmap(SHARED_HEAP_VA + (uint64_t)i * SHARED_CHUNK, pa, mapped);
		spin_lock(&heap_lock);
		c->pa = 0;
		stats.chunks--;
		spin_unlock(&heap_lock);
	}
}

long rref_free(uint32_t caller, uint64_t handle)
{
	spin_lock(&heap_lock);
	uint32_t idx = index_of(handle);
	long r = idx ? -MAPLE_EPERM : -MAPLE_EINVAL;
	bool trim = false;
	/* Pin it busy if it is still a root we own that no call borrows or
	 * moves; a racing gate transfer makes the CAS fail, and we decide
	 * again on what it left. */
	for (uint64_t s = idx ? load_state(idx) : 0; idx;) {
		if (rs_owner(s) != caller || rs_borrows(s) || (s & RS_BUSY))
			break; /* nested, someone else's, lent out or moving */
		if (cas_state(idx, &s, s | RS_BUSY)) {
			trim = free_tree(idx);
			r = 0;
			break;
		}
	}
	spin_unlock(&heap_lock);
	if (trim)
		trim_empty_chunks(true);
	return r;
}

/* After idx lost a child: the heights of it and its ancestors, as far up
 * as they change. Bounded by the tree's depth times its width. Lock held. */
static void lower_heights(uint32_t idx)
{
	for (int level = 0; idx && level < RREF_MAX_LEVELS; level++) {
		uint8_t h = 0;
		for (uint32_t k = meta[idx].first_child; k; k = meta[k].next_sibling)
			if (meta[k].height + 1 > h)
				h = (uint8_t)(meta[k].height + 1);
		if (h == meta[idx].height)
			return;
		meta[idx].height = h;
		idx = rs_owner(load_state(idx)) == RS_OWNER_NESTED ? meta[idx].parent : 0;
	}
}

/* A tree the caller may change the shape of: its root is the caller's and
 * neither lent out (a borrower may be reading it) nor moving. Lock held. */
static bool tree_is_callers(uint32_t root, uint32_t caller)
{
	uint64_t s = load_state(root);
	return rs_owner(s) == caller && !rs_borrows(s) && !(s & RS_BUSY);
}

/* Lock held; c and p are index_of's answers. */
static long nest_locked(uint32_t caller, uint32_t c, uint32_t p)
{
	if (!c || !p || c == p)
		return -MAPLE_EINVAL;
	uint32_t depth, root = root_of(p, &depth);
	/* c must be a root (so it is no ancestor of p unless it is p's root),
	 * ours, not lent out or moving; a racing gate transfer of it makes the
	 * CAS fail and we decide again. Once nested, only the kernel changes it. */
	if (root == c || !tree_is_callers(root, caller))
		return -MAPLE_EPERM;
	uint64_t s = load_state(c);
	do {
		if (rs_owner(s) != caller || rs_borrows(s) || (s & RS_BUSY))
			return -MAPLE_EPERM;
		/* The whole tree, not just the path to p, stays within the bound:
		 * c's subtree hangs one below p. */
		if (depth + 1 + meta[c].height >= RREF_MAX_LEVELS)
			return -MAPLE_EDEPTH;
	} while (!cas_state(c, &s, RS_STATE(RS_OWNER_NESTED, rs_gen(s))));
	meta[c].parent = p;
	meta[c].next_sibling = meta[p].first_child;
	meta[p].first_child = c;
	uint8_t h = (uint8_t)(meta[c].height + 1);
	for (uint32_t up = p; meta[up].height < h && up != root; h++) {
		meta[up].height = h;
		up = meta[up].parent;
	}
	if (meta[root].height < h)
		meta[root].height = h;
	return 0;
}

long rref_nest(uint32_t caller, uint64_t child, uint64_t parent)
{
	spin_lock(&heap_lock);
	long r = nest_locked(caller, index_of(child), index_of(parent));
	spin_unlock(&heap_lock);
	return r;
}

long rref_unnest(uint32_t caller, uint64_t child)
{
	spin_lock(&heap_lock);
	uint32_t c = index_of(child);
	long r = -MAPLE_EINVAL;
	if (c) {
		uint32_t root = root_of(c, NULL);
		if (rs_owner(load_state(c)) != RS_OWNER_NESTED || !tree_is_callers(root, caller)) {
			r = -MAPLE_EPERM;
		} else {
			uint32_t p = meta[c].parent;
			uint32_t *pp = &meta[p].first_child;
			while (*pp != c)
				pp = &meta[*pp].next_sibling;
			*pp = meta[c].next_sibling;
			meta[c].next_sibling = 0;
			meta[c].parent = 0;
			/* Nested, so the gate cannot be changing it. */
			set_state(c, RS_STATE(caller, rs_gen(load_state(c))));
			lower_heights(p);
			r = 0;
		}
	}
	spin_unlock(&heap_lock);
	return r;
}

long rref_recall(uint32_t caller, uint64_t handle)
{
	spin_lock(&heap_lock);
	uint32_t idx = index_of(handle);
	long r = -MAPLE_EINVAL;
	if (idx && effective_owner(idx) == caller && meta[idx].payer == caller) {
		meta[idx].recall = true;
		r = 0;
	} else if (idx) {
		r = -MAPLE_EPERM;
	}
	spin_unlock(&heap_lock);
	return r;
}

long rref_size(uint32_t caller, uint64_t handle)
{
	spin_lock(&heap_lock);
	uint32_t idx = index_of(handle);
	long r = -MAPLE_EINVAL;
	if (idx && effective_owner(idx) == caller)
		r = (long)(1UL << chunks[meta[idx].chunk].shift);
	else if (idx)
		r = -MAPLE_EPERM;
	spin_unlock(&heap_lock);
	return r;
}

/*
 * Whether a call in progress on this thread lends idx, or a tree idx is
 * nested in, to domain `caller`. The continuations are TRUSTED (only the
 * gate and the kernel write them); their count is checked before use.
 */
static bool borrowed_here(uint32_t caller, uint32_t idx)
{
	uint64_t tt_va;
	const struct gate_thread_trusted *tt = heap_thread_conts(&tt_va);
	if (!tt)
		return false;
	uint64_t off = tt->cont_top - (tt_va + GTT_CONTS);
	if (off % CONT_SIZE || off / CONT_SIZE > GATE_MAX_DEPTH)
		return false;
	for (int level = 0; level < RREF_MAX_LEVELS; level++) {
		uint64_t h = handle_of(idx);
		for (uint64_t k = 0; k < off / CONT_SIZE; k++) {
			const struct continuation *e = &tt->conts[k];
			for (int i = 0; i < 4; i++)
				if (e->kind == CONT_XCALL && e->callee == caller &&
				    (e->word & XCALL_BORROW(i)) && e->args[i] == h)
					return true;
		}
		if (rs_owner(load_state(idx)) != RS_OWNER_NESTED)
			return false;
		idx = meta[idx].parent;
	}
	return false;
}

/*
 * One bus address stands for the whole payload, up to its size class: a
 * chunk is one run of 2 MiB contiguous frames (chunk_for) holding slots of
 * a single class of at most 2 MiB, each slot aligned to its size, so no
 * payload crosses a chunk and its frames follow each other (ktest
 * pci_rref_payload_contiguous checks the page tables agree).
 *
 * A DMA address: for the payload's owner, or for a driver the RRef is lent
 * to by a call in progress on this thread (how a block driver gets the bus
 * address of a client's buffer: zero copy). The device writes len bytes
 * there without any further check, so len must lie inside this RRef's own
 * payload: a driver handed a small RRef where it expects a large one (the
 * handles nested in a request are plain numbers in shared memory) gets
 * -MAPLE_EINVAL instead of an address the device would write past, into
 * whatever RRef follows. What the device does after the borrow ends is the
 * driver's responsibility (docs/drivers.md, "NVMe recovery").
 */
long rref_bus(uint32_t caller, uint64_t handle, uint64_t len)
{
	spin_lock(&heap_lock);
	uint32_t idx = index_of(handle);
	long r = -MAPLE_EINVAL;
	if (idx && (effective_owner(idx) == caller || borrowed_here(caller, idx))) {
		if (len <= meta[idx].size)
			r = (long)(chunks[meta[idx].chunk].pa +
				   ((uint64_t)meta[idx].slot << chunks[meta[idx].chunk].shift));
	} else if (idx) {
		r = -MAPLE_EPERM;
	}
	spin_unlock(&heap_lock);
	return r;
}

long rref_info(uint32_t caller, uint64_t handle)
{
	spin_lock(&heap_lock);
	uint32_t idx = index_of(handle);
	long r = -MAPLE_EINVAL;
	if (idx) {
		uint32_t owner = effective_owner(idx);
		/* Who owns what is no one else's business. */
		if (owner == caller || borrowed_here(caller, idx))
			r = (long)(owner | rs_borrows(load_state(idx)) << 16);
		else
			r = -MAPLE_EPERM;
	}
	spin_unlock(&heap_lock);
	return r;
}

void rref_end_borrow(uint64_t handle)
{
	spin_lock(&heap_lock);
	uint32_t idx = index_of(handle);
	uint64_t s = idx ? load_state(idx) : 0;
	while (idx && rs_borrows(s) && !cas_state(idx, &s, s - RS_BORROW_ONE))
		;
	spin_unlock(&heap_lock);
}

/*
 * Before recalled root goes back to its payer: free every subtree nested in
 * it whose top the dead domain `owner` paid for, unlinked first. The payer
 * gets back what it paid for and what third parties pay for; the dead
 * holder's own RRefs die with it, as they would anywhere else. Otherwise a
 * holder could nest its whole quota into a recalled RRef and die, moving
 * its charges onto the payer past the payer's limits, again after every
 * restart, until the heap is out of headers for everyone. Lock held; root
 * is pinned busy by the reclaim, and nested headers are the kernel's alone.
 * Iterative, like free_tree: the walk goes down first children, on to next
 * siblings, and back up through parents, never above root.
 */
static void strip_paid_by(uint32_t root, uint32_t owner)
{
	uint32_t idx = meta[root].first_child;
	while (idx) {
		uint32_t next = meta[idx].next_sibling, up = meta[idx].parent;
		if (meta[idx].payer == owner) {
			uint32_t *pp = &meta[up].first_child;
			while (*pp != idx)
				pp = &meta[*pp].next_sibling;
			*pp = next;
			meta[idx].parent = meta[idx].next_sibling = 0;
			free_tree(idx); /* the reclaim trims every emptied chunk after */
			lower_heights(up);
		} else if (meta[idx].first_child) {
			idx = meta[idx].first_child;
			continue;
		}
		while (!next && up != root) {
			next = meta[up].next_sibling;
			up = meta[up].parent;
		}
		idx = next;
	}
}

uint64_t rref_reclaim(uint32_t owner)
{
	uint64_t n = 0;
	spin_lock(&heap_lock);
	for (uint32_t idx = 1; idx < RREF_MAX; idx++) {
		/* Its roots, lent out or not: the domain is gone, and its calls
		 * (which held the borrows) were unwound. Pin each so that a gate
		 * transfer still racing on it fails. */
		uint64_t s = load_state(idx);
		while (rs_owner(s) == owner && !cas_state(idx, &s, s | RS_BUSY))
			;
		/* A recalled root the dead domain did not pay for goes back
		 * to its payer (alive: a dying payer's charges move to the
		 * holders below, so payer never names a domain that is gone),
		 * lent to no one, with its subtree less what the dead domain
		 * paid for (strip_paid_by). Safe now: this runs after
		 * the domain's devices were confirmed stopped (device_release),
		 * so no DMA into it is still in flight. */
		if (rs_owner(s) == owner && meta[idx].recall && meta[idx].payer != owner) {
			uint64_t live = stats.live;
			strip_paid_by(idx, owner);
			n += live - stats.live;
			set_state(idx, RS_STATE(meta[idx].payer, rs_gen(s)));
			stats.recalled++;
		} else if (rs_owner(s) == owner) {
			uint64_t live = stats.live;
			free_tree(idx);
			n += live - stats.live;
		}
	}
	/* What it allocated and others hold now is charged to the holders. */
	for (uint32_t idx = 1; idx < RREF_MAX; idx++)
		if (rs_owner(load_state(idx)) != RS_OWNER_FREE && meta[idx].payer == owner) {
			uint32_t holder = effective_owner(idx);
			uint64_t bytes = 1UL << chunks[meta[idx].chunk].shift;
			usage[owner].count--;
			usage[owner].bytes -= bytes;
			usage[holder].count++;
			usage[holder].bytes += bytes;
			meta[idx].payer = (uint8_t)holder;
		}
	if ((usage[owner].count || usage[owner].bytes)) {
		klog("rref: domain %u was still charged for %lu RRefs after reclaim; cleared",
		     owner, usage[owner].count);
		usage[owner] = (struct usage){0};
	}
	spin_unlock(&heap_lock);
	trim_empty_chunks(false);
	return n;
}

void rref_domain_usage(uint32_t id, uint64_t *count, uint64_t *bytes)
{
	spin_lock(&heap_lock);
	*count = id < GATE_MAX_DOMAINS ? usage[id].count : 0;
	*bytes = id < GATE_MAX_DOMAINS ? usage[id].bytes : 0;
	spin_unlock(&heap_lock);
}

void rref_get_stats(struct rref_stats *out)
{
	spin_lock(&heap_lock);
	*out = stats;
	spin_unlock(&heap_lock);
}
