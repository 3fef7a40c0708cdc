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

/*
 * The request that a handle nested in a lent deque names, or NULL. The
 * handle is a plain number in shared memory that anyone may have written:
 * pointing into the shared heap's window is not enough, since most of the
 * window is chunks no RRef uses, unmapped, where the first read faults the
 * reader (a client would crash the driver or the shadow with one number).
 * The kernel confirms (rref_bus) that it is a live RRef lent to this call
 * with a BlockReq's payload; nested in a borrowed deque, no one can unnest
 * or free it until the call returns, so the pointer stays good till then.
 */
static inline struct BlockReq *block_req_at(rref_t r)
{
	return r && rref_bus(r, sizeof(struct BlockReq)) >= 0 ? BlockReq_ptr(r) : NULL;
}

/*
 * Where a request's bytes are: data for one block, else buf from offset.
 * buf is a plain number in shared memory: the kernel confirms (rref_bus)
 * that it is an RRef lent to this call with at least offset + bytes of
 * payload, so a small or foreign RRef fails the request, not the memcpy.
 */
static inline uint8_t *block_req_bytes(struct BlockReq *req, uint32_t count, uint32_t offset,
				       uint64_t block_size)
{
	if (count <= 1)
		return req->data;
	rref_t buf = __atomic_load_n(&req->buf, __ATOMIC_RELAXED);
	uint64_t bytes = (uint64_t)count * block_size;
	if (offset % BLOCK_BUF_ALIGN || !buf || rref_bus(buf, offset + bytes) < 0)
		return NULL;
	return (uint8_t *)rref_ptr(buf) + offset;
}

#endif
