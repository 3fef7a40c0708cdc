/*
 * rogue's cases against a BlockDevice shadow (blocks_cases.h): batches
 * that break the rules a client must keep, sent to the shadow as any
 * client would.
 */
#include <test/rogue/blocks_cases.h>
#include <test/rogue/cases.h>

#include <idl/bdev.h>
#include <lib/string.h>
#include <sdk/dom.h>

/* A request of the batch q: op on ROGUE_B_BLOCK, its bytes `fill`. */
static long push(rref_t q, uint32_t op, uint8_t fill)
{
	rref_t r = BlockReq_alloc();
	if (!r)
		return -MAPLE_ENOMEM;
	struct BlockReq *req = BlockReq_ptr(r);
	req->block = ROGUE_B_BLOCK;
	req->op = op;
	memset(req->data, fill, ROGUE_B_BSIZE);
	long e = BlockReq_deque32_push(q, r);
	if (e < 0)
		BlockReq_free(r);
	return e;
}

/* The shadow's handle does not move, so a forged one is the only lie:
 * index 1 and generation 0 name no live RRef of this payload. */
static rref_t unmapped_handle(void)
{
	uint64_t last = SHARED_HEAP_VA + (SHARED_CHUNKS - 1) * SHARED_CHUNK;
	return RREF_HANDLE(1, 0, last);
}

/* ROGUE_B_RESIZE's and ROGUE_B_REINIT's thread and the submitting thread,
 * what they share. */
static struct {
	struct BlockDevice_ref dev;
	bool same;     /* ROGUE_B_REINIT: the thread gives the same size each time */
	uint32_t done; /* the resizing thread has finished */
	long odd;      /* its first result that is no device's answer, or 0 */
} resize;

/* What a device may answer a submit or an init with here. */
static bool an_answer(long r)
{
	return r >= 0 || r == -MAPLE_EINVAL || r == -MAPLE_EIO;
}

static void resizer(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROGUE_B_RESIZES; i++) {
		long r = BlockDevice_init(&resize.dev,
					  i % 2 || resize.same ? ROGUE_B_MANY : ROGUE_B_FEW,
					  ROGUE_B_BSIZE);
		if (!an_answer(r) && !resize.odd)
			resize.odd = r;
		/* New sizes apart, at various points in the batches; the same
		 * one back to back. */
		if (!resize.same)
			maple_sleep_ns(300000 + (uint64_t)(i % 7) * 150000);
	}
	__atomic_store_n(&resize.done, 1, __ATOMIC_RELEASE);
}

/* 32 writes of 256 blocks each, with their buffers: all ROGUE_B_MANY. */
static long fill_batch(rref_t q)
{
	const uint32_t per = ROGUE_B_MANY / BlockReq_deque32_CAP;
	for (uint32_t i = 0; i < BlockReq_deque32_CAP; i++) {
		rref_t r = BlockReq_alloc(), buf = BlockBuf_alloc();
		long e = r && buf ? BlockReq_set_buf(r, buf) : -MAPLE_ENOMEM;
		if (e >= 0) {
			buf = RREF_NULL; /* the request's now */
			struct BlockReq *req = BlockReq_ptr(r);
			*req = (struct BlockReq){
				.block = i * per, .op = 1, .nblocks = per, .buf = req->buf};
			e = BlockReq_deque32_push(q, r);
		}
		if (e < 0) {
			if (r)
				BlockReq_free(r);
			if (buf)
				BlockBuf_free(buf);
			return e;
		}
	}
	return 0;
}

static long resize_race(rref_t q)
{
	long r = fill_batch(q);
	if (r < 0)
		return r;
	long t = maple_thread_create(resizer, NULL);
	if (t < 0)
		return t;
	while (!__atomic_load_n(&resize.done, __ATOMIC_ACQUIRE)) {
		long n = BlockDevice_submit(&resize.dev, q);
		if (!an_answer(n))
			return n; /* the thread ends on its own: resize is static */
		if (resize.same && n != BlockReq_deque32_CAP)
			return 1L << 20 | n;
	}
	return resize.odd;
}

long rogue_blocks_case(long number, unsigned long target, unsigned long a2)
{
	struct BlockDevice_ref dev = {.domain = target};
	long r = BlockDevice_init(&dev, ROGUE_B_BLOCKS, ROGUE_B_BSIZE);
	if (r < 0)
		return r;
	rref_t q = BlockReq_deque32_alloc();
	if (!q)
		return -MAPLE_ENOMEM;
	struct BlockReq_deque32 *d = BlockReq_deque32_ptr(q);
	switch (number) {
	case ROGUE_B_UNMAPPED:
		r = push(q, 0, 0);
		if (r >= 0) {
			d->slots[(d->head + 1) % BlockReq_deque32_CAP] = unmapped_handle();
			d->len = 2;
			r = BlockDevice_submit(&dev, q);
		}
		if (r >= 0 && BlockReq_ptr(BlockReq_deque32_get(q, 0))->status)
			r = 1L << 20 | -(long)BlockReq_ptr(BlockReq_deque32_get(q, 0))->status;
		break;
	case ROGUE_B_TWICE:
		/* First a batch of its own, so the shadow knows the block. */
		r = push(q, 1, 0x11);
		if (r >= 0)
			r = BlockDevice_submit(&dev, q);
		if (r == 1)
			BlockReq_free(BlockReq_deque32_pop(q));
		r = r == 1 ? push(q, 1, 0xaa) : r < 0 ? r : -MAPLE_EIO;
		if (r >= 0)
			r = push(q, a2 ? 1 : 0, 0xbb);
		if (r >= 0)
			r = BlockDevice_submit(&dev, q);
		break;
	case ROGUE_B_RESIZE:
	case ROGUE_B_REINIT:
		resize.dev = dev;
		resize.same = number == ROGUE_B_REINIT;
		if (resize.same)
			r = BlockDevice_init(&dev, ROGUE_B_MANY, ROGUE_B_BSIZE);
		r = r < 0 ? r : resize_race(q);
		break;
	default:
		r = -MAPLE_EINVAL;
	}
	BlockReq_deque32_free(q);
	return r;
}
