/*
 * nvme: the NVMe driver's BlockDevice methods (domains/idl/bdev.idl) for
 * the controller the kernel grants it as nvme0, exported by nvme_main.c
 * once the controller is up (nvme_ctrl.c). submit() turns a borrowed batch of requests
 * into NVMe Read and Write commands that DMA straight into and out of the
 * client's request RRefs (zero copy), on one I/O queue pair with one
 * doorbell write, and waits for all of them. Like membdev, it keeps no
 * request state across calls: a batch is done or failed when submit
 * returns, which is what lets a shadow resubmit it after a crash
 * (docs/drivers.md, "NVMe recovery").
 */
#include <block/block.h>
#include <block/nvme/nvme.h>
#include <idl/bdev.h>
#include <lib/string.h>

static uint64_t nblocks, block_size; /* the geometry init chose */
static uint64_t completed;	     /* requests done since init */
uint64_t nvme_started_ns;	     /* when this instance started */
static uint32_t served;		     /* its first request is done */

/* One batch's requests and their statuses while their commands are in flight
 * (a request may take several commands: the first error is its status). */
struct batch {
	struct BlockReq *req[BlockReq_deque32_CAP];
	int32_t status[BlockReq_deque32_CAP];
};

static long init(uint64_t blocks, uint64_t bsize)
{
	uint64_t lba = 1ull << nvme.lba_shift;
	/* Whole logical blocks per block, at most a page (the inline data). */
	if (!blocks || bsize < lba || bsize % lba || bsize > sizeof(((struct BlockReq *)0)->data))
		return -MAPLE_EINVAL;
	if (blocks > (nvme.lbas << nvme.lba_shift) / bsize)
		return -MAPLE_EINVAL; /* larger than the namespace */
	nblocks = blocks;
	block_size = bsize;
	completed = 0;
	return (long)(blocks * bsize);
}

static void request_done(void *ctx, uint16_t i, struct nvme_done d)
{
	struct batch *b = ctx;
	long e = nvme_status_error(d.status);
	if (e && !b->status[i]) {
		b->status[i] = (int32_t)e;
		dom_printf("nvme: request %u: block %lu failed: status type %u code %#x", i,
			   (unsigned long)b->req[i]->block, (unsigned)NVME_STATUS_SCT(d.status),
			   (unsigned)NVME_STATUS_SC(d.status));
	}
}

/*
 * The bus address of request r's bytes, or a negative error for that
 * request only. Inline data sits at the payload's start (bdev.idl), page
 * aligned. A large request's buf is a handle read from shared memory: the
 * kernel (rref_bus) confirms it is lent to this call and holds offset +
 * bytes, so the device never writes past it into another RRef.
 */
static long data_bus(rref_t r, struct BlockReq *req, uint32_t count, uint32_t offset,
		     uint64_t bytes)
{
	if (count <= 1)
		return rref_bus(r, sizeof(struct BlockReq));
	if (offset % BLOCK_BUF_ALIGN)
		return -MAPLE_EINVAL;
	rref_t buf = __atomic_load_n(&req->buf, __ATOMIC_RELAXED);
	long bus = buf ? rref_bus(buf, (uint64_t)offset + bytes) : -MAPLE_EINVAL;
	return bus < 0 ? -MAPLE_EINVAL : bus + offset;
}

/* Queue request i's commands, one per max_xfer bytes (MDTS): 0, or its error. */
static long issue(struct nvme_queue *q, struct batch *b, uint16_t i, rref_t r)
{
	struct BlockReq *req = b->req[i];
	struct block_req rq;
	if (block_req_read(req, nblocks, block_size, &rq) < 0)
		return -MAPLE_EINVAL; /* beyond the device, or too large */
	uint64_t bytes = rq.n * block_size;
	long bus = data_bus(r, req, rq.count, rq.offset, bytes);
	if (bus < 0)
		return bus;
	uint64_t lba = rq.block * block_size >> nvme.lba_shift;
#ifdef NVME_FORGET_NTH
	/* nvme_forgetful: this write is acknowledged (status 0) but never issued. */
	static uint32_t writes;
	if (rq.op && __atomic_add_fetch(&writes, 1, __ATOMIC_RELAXED) == NVME_FORGET_NTH) {
		dom_printf("nvme: acknowledging the write of block %lu without storing it",
			   (unsigned long)rq.block);
		return 0;
	}
#endif
	for (uint64_t done = 0; done < bytes;) {
		uint64_t len = bytes - done < nvme.max_xfer ? bytes - done : nvme.max_xfer;
		/* 6.9/6.15: SLBA in CDW10-11, NLB (0's based) in CDW12. */
		struct nvme_sqe cmd = {
			.cdw0 = rq.op ? NVME_CMD_WRITE : NVME_CMD_READ,
#ifdef NVME_BAD_NSID_BLOCK
			/* nvme_badns: this block's commands name a namespace id the
			 * controller refuses (Invalid Namespace or Format, 4.6.1.2.1). */
			.nsid = rq.block == NVME_BAD_NSID_BLOCK ? 0xfffffffeu : NVME_NSID,
#else
			.nsid = NVME_NSID,
#endif
			.cdw10 = (uint32_t)lba,
			.cdw11 = (uint32_t)(lba >> 32),
			.cdw12 = NVME_RW_NLB(len >> nvme.lba_shift),
		};
		nvme_queue_put(q, &cmd, (uint64_t)bus + done, len, i, request_done, b);
		done += len;
		lba += len >> nvme.lba_shift;
	}
	return 0;
}

#ifdef NVME_STRAY_CID
/* The nvme_stray test image: ahead of every batch, a Flush written straight
 * into the SQ with command id NVME_STRAY_CID, which no slot holds, so its
 * completion is one for an unknown command id. It takes an SQ entry that
 * no slot accounts for: the batches of the test stay far below the queue's
 * size. */
static void stray(struct nvme_queue *q)
{
	struct nvme_sqe cmd = {.cdw0 = NVME_CDW0(NVME_CMD_FLUSH, NVME_STRAY_CID),
			       .nsid = NVME_NSID};
	memcpy((void *)&q->sq[q->sq_tail], &cmd, sizeof(cmd));
	q->sq_tail = (uint16_t)((q->sq_tail + 1) % q->entries);
}
#endif

#ifdef NVME_WRONG_READ_NTH
/* nvme_wrongread: invert the first byte of the NVME_WRONG_READ_NTH-th read
 * request this instance completes, leaving its status 0. */
static void wrong_read(struct BlockReq *req)
{
	static uint32_t reads;
	struct block_req rq;
	if (block_req_read(req, nblocks, block_size, &rq) < 0 || rq.op ||
	    __atomic_add_fetch(&reads, 1, __ATOMIC_RELAXED) != NVME_WRONG_READ_NTH)
		return;
	/* nvme owns no RRef: what rref_bus accepts is lent (block.h) */
	uint8_t *bytes = block_req_bytes(req, rq.count, rq.offset, block_size, false);
	if (!bytes)
		return;
	bytes[0] ^= 0xff;
	dom_printf("nvme: returning block %lu with its first byte inverted",
		   (unsigned long)rq.block);
}
#endif

static long submit(rref_t reqs)
{
	if (!nblocks)
		return -MAPLE_EINVAL; /* init first */
	if (!block_in_shared_heap((uint64_t)rref_ptr(reqs), sizeof(struct BlockReq_deque32)))
		return -MAPLE_EINVAL;
	struct batch b;
	rref_t handle[BlockReq_deque32_CAP];
	uint32_t n = BlockReq_deque32_len(reqs);
	struct nvme_queue *q = nvme_queue_claim(nvme.io, nvme.nio);
#ifdef NVME_STRAY_CID
	stray(q);
#endif
	for (uint16_t i = 0; i < n; i++) {
		handle[i] = BlockReq_deque32_get(reqs, i);
		b.status[i] = 0;
		/* Only a request lent to this call gets a status written. */
		if (!block_in_shared_heap((uint64_t)rref_ptr(handle[i]), sizeof(struct BlockReq)) ||
		    rref_bus(handle[i], sizeof(struct BlockReq)) < 0) {
			b.req[i] = NULL;
			continue;
		}
		b.req[i] = BlockReq_ptr(handle[i]);
		b.status[i] = (int32_t)issue(q, &b, i, handle[i]);
	}
	nvme_queue_drain(q, request_done, &b); /* the batch's one doorbell write */
	nvme_queue_release(q);
	long done = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (!b.req[i])
			continue;
#ifdef NVME_WRONG_READ_NTH
		if (b.status[i] == 0)
			wrong_read(b.req[i]);
#endif
		__atomic_store_n(&b.req[i]->status, b.status[i], __ATOMIC_RELAXED);
		done += b.status[i] == 0;
	}
	__atomic_add_fetch(&completed, (uint64_t)done, __ATOMIC_RELAXED);
	/* One line per instance: with the kernel's crash line it times a restart. */
	if (done && !__atomic_exchange_n(&served, 1, __ATOMIC_RELAXED))
		dom_printf("nvme: serving, %lu us after start",
			   (unsigned long)((maple_clock_ns() - nvme_started_ns) / 1000));
	return done;
}

static void flush_done(void *ctx, uint16_t req, struct nvme_done d)
{
	(void)req;
	long *r = ctx;
	if (!*r)
		*r = nvme_status_error(d.status);
}

/* 6.8: Flush makes every write completed before it durable; submit
 * completes a write before acknowledging it, so this covers every write
 * acknowledged before the call. */
static long flush(void)
{
	long r = 0;
	struct nvme_sqe cmd = {.cdw0 = NVME_CMD_FLUSH, .nsid = NVME_NSID};
	struct nvme_queue *q = nvme_queue_claim(nvme.io, nvme.nio);
	nvme_queue_put(q, &cmd, 0, 0, 0, flush_done, &r);
	nvme_queue_drain(q, flush_done, &r);
	nvme_queue_release(q);
	return r;
}

#ifdef NVME_FLOOD
#include <block/nvme/flood.h>

/* Fill one I/O queue with reads of NVME_FLOOD_XFER bytes, round the buffer,
 * ring once and return: the bus address, with the reads in flight. */
static long flood(void)
{
	static long unseen; /* the reads are never reaped: the domain dies first */
	uint64_t bus;
	if (!nvme_dma(NVME_FLOOD_BYTES, &bus))
		return -MAPLE_ENOMEM;
	struct nvme_queue *q = nvme_queue_claim(nvme.io, nvme.nio);
	uint32_t n = q->entries - 1u;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t off = (uint64_t)i * NVME_FLOOD_XFER % NVME_FLOOD_BYTES;
		struct nvme_sqe cmd = {
			.cdw0 = NVME_CMD_READ,
			.nsid = NVME_NSID,
			.cdw10 = (uint32_t)(off >> nvme.lba_shift),
			.cdw12 = NVME_RW_NLB(NVME_FLOOD_XFER >> nvme.lba_shift),
		};
		nvme_queue_put(q, &cmd, bus + off, NVME_FLOOD_XFER, 0, flush_done, &unseen);
	}
	nvme_queue_ring(q);
	dom_printf("nvme: flooding: %u reads of %u KiB in flight into %#lx", n,
		   NVME_FLOOD_XFER >> 10, (unsigned long)bus);
	return (long)bus; /* the queue stays claimed: nothing else may reap it */
}
#define STATS_METHOD flood
#else
static long stats(void)
{
	return (long)__atomic_load_n(&completed, __ATOMIC_RELAXED);
}
#define STATS_METHOD stats
#endif

static long capacity(void)
{
	return (long)(nvme.lbas << nvme.lba_shift);
}

static long lba_size(void)
{
	return 1l << nvme.lba_shift;
}

const struct BlockDevice_impl nvme_impl = {
	.init = init,
	.submit = submit,
	.stats = STATS_METHOD,
	.flush = flush,
	.capacity = capacity,
	.block_size = lba_size,
};
