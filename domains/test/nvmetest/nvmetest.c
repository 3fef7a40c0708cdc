/*
 * nvmetest: a BlockDevice client for the NVMe driver's bad-input tests and
 * its benchmark (domains/idl/nvmetest.idl). probe() puts one bad request
 * beside a good one in a batch and reports the bad one's status, and
 * whether the good one was hurt; bench() runs loop.c through a BlockDevice
 * handle (the driver itself, or its shadow).
 */
#include <idl/bdev.h>
#include <lib/string.h>
#include <test/nvmetest/loop.h>

#define GOOD_BLOCK 5 /* the good request's block, away from every case's */

static uint64_t seq = 1; /* makes each probe's data new */

static void fill(uint8_t *p, uint64_t bytes, uint64_t seed)
{
	uint64_t *w = (uint64_t *)p;
	for (uint64_t i = 0; i < bytes / 8; i++)
		w[i] = seed * 0x9e3779b97f4a7c15ull + i;
}

static bool same(const uint8_t *p, uint64_t bytes, uint64_t seed)
{
	const uint64_t *w = (const uint64_t *)p;
	for (uint64_t i = 0; i < bytes / 8; i++)
		if (w[i] != seed * 0x9e3779b97f4a7c15ull + i)
			return false;
	return true;
}

/* Submit reqs (already in q) and return how many succeeded, or the error. */
static long submit(const struct BlockDevice_ref *dev, rref_t q)
{
	return BlockDevice_submit(dev, q);
}

/* Set up request r as `which` describes; small and buf are its RRefs. */
static long set_case(rref_t r, long which, uint64_t s)
{
	struct BlockReq *req = BlockReq_ptr(r);
	req->op = 1;
	req->block = 100;
	req->nblocks = 0;
	switch (which) {
	case NVT_BEYOND_END:
		req->block = NVT_BLOCKS;
		return 0;
	case NVT_STRADDLES_END:
		req->block = NVT_BLOCKS - 1;
		req->nblocks = 2;
		break;
	case NVT_MISALIGNED:
		req->nblocks = 2;
		req->offset = 2;
		break;
	case NVT_SMALL_BUF: {
		rref_t tiny = rref_alloc(BlockBuf_TYPE, 64);
		long e = tiny ? BlockReq_set_buf(r, tiny) : -MAPLE_ENOMEM;
		if (e < 0)
			return e;
		req->nblocks = NVT_LARGE_BLOCKS;
		return 0;
	}
	case NVT_BAD_OP:
		req->op = 7;
		return 0;
	case NVT_LARGE:
	case NVT_FLUSH:
		/* From offset 4, 31 blocks still fit the 128 KiB buffer and
		 * span 32 pages: PRP1 and a PRP list of 31. */
		req->nblocks = NVT_LARGE_BLOCKS - 1;
		req->offset = 4;
		break;
	default:
		return -MAPLE_EINVAL;
	}
	rref_t buf = BlockBuf_alloc();
	long e = buf ? BlockReq_set_buf(r, buf) : -MAPLE_ENOMEM;
	if (e >= 0)
		fill(BlockBuf_ptr(buf)->data + req->offset, (uint64_t)req->nblocks * 4096, s);
	return e;
}

/* Read back what a large case wrote (from offset 12 this time): whether it matches. */
static bool large_reads_back(const struct BlockDevice_ref *dev, rref_t q, rref_t r, uint64_t s)
{
	struct BlockReq *req = BlockReq_ptr(r);
	memset(BlockBuf_ptr(req->buf)->data, 0, sizeof(struct BlockBuf));
	req->op = 0;
	req->offset = 12;
	req->status = 1;
	BlockReq_ptr(BlockReq_deque32_get(q, 0))->op = 0;
	long n = submit(dev, q);
	return n == 2 && req->status == 0 &&
	       same(BlockBuf_ptr(req->buf)->data + 12, (uint64_t)req->nblocks * 4096, s);
}

static long probe(long device, long which)
{
	if (device <= 0 || which < 0 || which >= NvmeCase_COUNT)
		return -MAPLE_EINVAL;
	const struct BlockDevice_ref dev = {.domain = (uint64_t)device};
	long r = BlockDevice_init(&dev, NVT_BLOCKS, NVT_BLOCK_SIZE);
	if (r < 0)
		return r;
	uint64_t s = seq++;
	rref_t q = BlockReq_deque32_alloc(), good = BlockReq_alloc(), bad = BlockReq_alloc();
	r = q && good && bad ? 0 : -MAPLE_ENOMEM;
	if (r >= 0) {
		struct BlockReq *g = BlockReq_ptr(good);
		g->op = 1;
		g->block = GOOD_BLOCK;
		fill(g->data, sizeof(g->data), s + 1000000);
		r = set_case(bad, which, s);
	}
	if (r >= 0 && (r = BlockReq_deque32_push(q, good)) >= 0)
		good = RREF_NULL; /* the deque's now, freed with it */
	if (r >= 0 && (r = BlockReq_deque32_push(q, bad)) >= 0)
		bad = RREF_NULL;
	if (r < 0)
		goto out;
	struct BlockReq *g = BlockReq_ptr(BlockReq_deque32_get(q, 0));
	struct BlockReq *b = BlockReq_ptr(BlockReq_deque32_get(q, 1));
	g->status = b->status = 1; /* the driver must overwrite both */
	long n = submit(&dev, q);
	long status = b->status;
	bool hurt = g->status != 0 || n != 1 + (status == 0);
	if (!hurt && which == NVT_FLUSH)
		status = BlockDevice_flush(&dev);
	/* What was acknowledged must read back (a large case the device
	 * refused, as nvme_badns does, has nothing to read). */
	if (!hurt && !status && (which == NVT_LARGE || which == NVT_FLUSH) &&
	    !large_reads_back(&dev, q, BlockReq_deque32_get(q, 1), s))
		hurt = true;
	/* The good write, read back alone. */
	if (!hurt) {
		BlockReq_deque32_ptr(q)->len = 1;
		memset(g->data, 0, sizeof(g->data));
		g->op = 0;
		g->status = 1;
		n = submit(&dev, q);
		BlockReq_deque32_ptr(q)->len = 2;
		hurt = n != 1 || g->status != 0 || !same(g->data, sizeof(g->data), s + 1000000);
	}
	r = hurt ? NVT_NEIGHBOUR_HURT : -status;
out:
	if (good)
		BlockReq_free(good);
	if (bad)
		BlockReq_free(bad);
	if (q)
		BlockReq_deque32_free(q);
	return r;
}

static long proxy_init(uint64_t device, uint64_t nblocks, uint64_t block_size)
{
	const struct BlockDevice_ref dev = {.domain = device};
	return BlockDevice_init(&dev, nblocks, block_size);
}

static long proxy_submit(uint64_t device, rref_t reqs)
{
	const struct BlockDevice_ref dev = {.domain = device};
	return BlockDevice_submit(&dev, reqs);
}

static long bench(long device, long mix, long qd, long ms)
{
	if (device <= 0)
		return -MAPLE_EINVAL; /* 0 is the in-domain path: nvme_bench only */
	const struct nvt_target t = {
		.init = proxy_init, .submit = proxy_submit, .device = (uint64_t)device};
	return nvt_bench_start(&t, mix, qd, ms);
}

long domain_main(long arg)
{
	(void)arg;
	return nvt_export(probe, bench);
}
