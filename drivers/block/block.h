/*
 * What every BlockDevice driver (membdev, nvme) requires of a request alike
 * (domains/idl/bdev.idl): the largest transfer and the alignment of a large
 * request's bytes in its buffer. The alignment is the strictest a device
 * here needs: NVMe's first PRP entry may carry any dword-aligned offset
 * (NVMe 1.4, 4.3), so membdev refuses what nvme must refuse and a client
 * sees the same errors from either. And the one check of a request's
 * fields that both make before they touch a byte (block_req_read).
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

#endif
