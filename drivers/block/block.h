/*
 * What every BlockDevice driver (membdev, nvme) requires of a request alike
 * (domains/idl/bdev.idl): the largest transfer and the alignment of a large
 * request's bytes in its buffer. The alignment is the strictest a device
 * here needs: NVMe's first PRP entry may carry any dword-aligned offset
 * (NVMe 1.4, 4.3), so membdev refuses what nvme must refuse and a client
 * sees the same errors from either. And the checks of a request that
 * every party serving one makes before it touches a byte (block_req_read,
 * block_in_shared_heap, block_req_at, block_req_bytes): the drivers, and the shadow that
 * checks their answers (bdev_shadow/bdev_check.c).
 */
#ifndef DRIVERS_BLOCK_BLOCK_H
#define DRIVERS_BLOCK_BLOCK_H

#include <idl/bdev.h>

#define BLOCK_REQ_MAX_BYTES sizeof(((struct BlockBuf *)0)->data) /* 128 KiB */
#define BLOCK_BUF_ALIGN	    4

/* A request's fields, each read once. */
struct block_req {
	uint64_t block;	 /* the first block */
	uint32_t op;	 /* 0 read, 1 write */
	uint32_t count;	 /* nblocks as the client wrote it: 0 and 1 mean inline data */
	uint32_t offset; /* into buf, for more than one block */
	uint64_t n;	 /* blocks moved: count, or 1 for 0 */
};

/*
 * The trust boundary of every BlockDevice driver's submit: req lies in
 * shared memory the client can rewrite while the driver works, so each
 * field is read once into *out, and only that copy is checked and used.
 * 0, or -MAPLE_EINVAL for an op other than read or write, a transfer over
 * BLOCK_REQ_MAX_BYTES, or blocks beyond a device of nblocks blocks of
 * block_size bytes (init chose both; block_size is not 0).
 */
static inline long block_req_read(const struct BlockReq *req, uint64_t nblocks, uint64_t block_size,
				  struct block_req *out)
{
	out->block = __atomic_load_n(&req->block, __ATOMIC_RELAXED);
	out->op = __atomic_load_n(&req->op, __ATOMIC_RELAXED);
	out->count = __atomic_load_n(&req->nblocks, __ATOMIC_RELAXED);
	out->offset = __atomic_load_n(&req->offset, __ATOMIC_RELAXED);
	out->n = out->count ? out->count : 1;
	if (out->op > 1 || out->n > BLOCK_REQ_MAX_BYTES / block_size || out->block >= nblocks ||
	    out->n > nblocks - out->block)
		return -MAPLE_EINVAL;
	return 0;
}

/*
 * Whether [va, va + len) lies in the shared heap. The gate has checked a
 * lent deque's handle; the RRefs nested in it are plain numbers in shared
 * memory, so whoever serves a request checks that they point where RRef
 * payloads live before touching them: a bad one fails the request, not the
 * domain.
 */
static inline bool block_in_shared_heap(uint64_t va, uint64_t len)
{
	const uint64_t end = SHARED_HEAP_VA + (uint64_t)SHARED_CHUNKS * SHARED_CHUNK;
	return va >= SHARED_HEAP_VA && va < end && len <= end - va;
}

/* The shared heap's chunks (their index from SHARED_HEAP_VA) that hold a
 * request block_req_at confirmed during one call: mapped for the rest of
 * it. Zeroed at the call's start. */
struct block_mapped {
	uint32_t n;
	uint32_t chunk[32]; /* one per confirmed request at most: a batch's */
};

static inline bool block_chunk_mapped(const struct block_mapped *m, uint64_t va)
{
	uint32_t c = (uint32_t)((va - SHARED_HEAP_VA) / SHARED_CHUNK);
	for (uint32_t i = 0; i < m->n; i++)
		if (m->chunk[i] == c)
			return true;
	return false;
}

/*
 * Whether r, which rref_bus accepted, is lent to the call being served,
 * not the server's own: rref_bus answers for both. THE INVARIANT (what a
 * request names stays allocated, and its chunk mapped, until the call
 * returns): an RRef lent to the call is borrowed, so no one can free or
 * unnest it before then; a server's own RRefs it frees on its own
 * schedule. The block shadow frees its copies' extra buffers as each call
 * ends (bdev_check.c, set_put), and any domain can read their handles in
 * the shared heap: a client naming one had the shadow write a read's bytes
 * into it after another call freed it, into a chunk the heap had unmapped
 * meanwhile. Rogue case 460 (twelve threads making the shadow copy and
 * free batches, two naming the buffers they found in the heap): before,
 * every run failed, 2 of 20 with `bdev_shadow failed: SIGSEGV
 * (SEGV_MAPERR) at bdev_shadow+0x5b56` (memcpy), the rest with about 750
 * to 1150 reads done into buffers the client did not lend. The drivers own no RRef, so rref_bus
 * alone means lent for them. One more system call per confirmed RRef.
 */
static inline bool block_rref_lent(rref_t r)
{
	static long self; /* this domain's handle, asked once */
	long h = __atomic_load_n(&self, __ATOMIC_RELAXED);
	if (!h) {
		h = maple_domain_id();
		__atomic_store_n(&self, h, __ATOMIC_RELAXED);
	}
	/* The owner's id, bits 15:0 of both: the handle's bits above are
	 * its slot's generation, which rref_info does not give. */
	long info = rref_info(r);
	return h > 0 && info >= 0 && (info & 0xffff) != (h & 0xffff);
}

/*
 * The request that a handle nested in a lent deque names, or NULL. The
 * handle is a plain number in shared memory that anyone may have written:
 * pointing into the shared heap's window is not enough, since most of the
 * window is chunks no RRef uses, unmapped, where the first read faults the
 * reader (a client would crash the driver or the shadow with one number).
 * The shadow's checks read requests only through it; membdev and nvme
 * still take the window's word (behind a checked shadow they get only the
 * shadow's own copy of a batch, bdev_check.c), and should move onto it.
 * THE INVARIANT: a request is read only in a chunk known mapped for the
 * whole call. The kernel confirms (rref_bus) that a handle is a live RRef
 * with a BlockReq's payload, and block_rref_lent that it is lent to this
 * call (a server's own it may free meanwhile); nested in a borrowed deque,
 * no one can unnest or free it until the call returns, so its chunk (a
 * payload never crosses one) stays mapped till then, and a later request
 * that lies wholly in such a chunk (m) is read without asking again, a
 * system call saved per request. Such a one need not be a request lent to
 * the call, but it is shared memory the client could write itself, and
 * block_req_read refuses what is no request.
 */
static inline struct BlockReq *block_req_at(rref_t r, struct block_mapped *m)
{
	uint64_t va = (uint64_t)BlockReq_ptr(r);
	if (!r || !block_in_shared_heap(va, sizeof(struct BlockReq)))
		return NULL;
	if (block_chunk_mapped(m, va) && block_chunk_mapped(m, va + sizeof(struct BlockReq) - 1))
		return (struct BlockReq *)va;
	if (rref_bus(r, sizeof(struct BlockReq)) < 0 || !block_rref_lent(r))
		return NULL;
	if (!block_chunk_mapped(m, va) && m->n < sizeof m->chunk / sizeof m->chunk[0])
		m->chunk[m->n++] = (uint32_t)((va - SHARED_HEAP_VA) / SHARED_CHUNK);
	return (struct BlockReq *)va;
}

/*
 * Where a request's bytes are: data for one block, else buf from offset.
 * buf is a plain number in shared memory: the kernel confirms (rref_bus)
 * that it is an RRef lent to this call, or the caller's own, with at least
 * offset + bytes of payload, so a small or foreign RRef fails the request,
 * not the memcpy. lent_only refuses the caller's own too (block_rref_lent):
 * for a server that owns RRefs of its own, the shadow.
 */
static inline uint8_t *block_req_bytes(struct BlockReq *req, uint32_t count, uint32_t offset,
				       uint64_t block_size, bool lent_only)
{
	if (count <= 1)
		return req->data;
	rref_t buf = __atomic_load_n(&req->buf, __ATOMIC_RELAXED);
	uint64_t bytes = (uint64_t)count * block_size;
	if (offset % BLOCK_BUF_ALIGN || !buf || rref_bus(buf, offset + bytes) < 0 ||
	    (lent_only && !block_rref_lent(buf)))
		return NULL;
	return (uint8_t *)rref_ptr(buf) + offset;
}

#endif
