/*
 * rogue's cases against a BlockDevice shadow (blocks_cases.h): batches
 * that break the rules a client must keep, or keep them from many threads
 * at once (hoarding the shadow's copies, racing on one block), sent to the
 * shadow as any client would.
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

/* ROGUE_B_REWRITE's threads: the attacker submitting, its rewriters, and
 * the good client; what they share. */
static struct {
	struct BlockDevice_ref dev;
	struct BlockReq *req[ROGUE_B_RW_REQS]; /* the attacker's requests */
	uint32_t stop;			       /* the attacker's submits are done */
	uint32_t ended;			       /* threads ended */
	long good;			       /* the good client's first failure, or 0 */
	long batches;			       /* ... and its batches */
	uint32_t started;		       /* threads running */
	uint32_t good_ended;		       /* the good client stopped */
} rw;

/* A deque of ROGUE_B_RW_REQS one-block requests of blocks first on, each
 * `op`; RREF_NULL if the heap has no room. */
static rref_t rw_batch(uint64_t first, uint32_t op)
{
	rref_t q = BlockReq_deque32_alloc();
	for (uint32_t i = 0; q && i < ROGUE_B_RW_REQS; i++) {
		rref_t r = BlockReq_alloc();
		if (!r || BlockReq_deque32_push(q, r) < 0) {
			if (r)
				BlockReq_free(r);
			BlockReq_deque32_free(q);
			return RREF_NULL;
		}
		*BlockReq_ptr(r) = (struct BlockReq){.block = first + i, .op = op};
	}
	return q;
}

/* The attacker's rewriters (ROGUE_B_RW_REWRITERS threads, so that one is
 * likely running while the shadow has the batch on a loaded host): the
 * requests are rogue's own shared memory, which it may write while the
 * shadow has them; they do, without pause. Each store changes the byte,
 * so a read's bytes, all 0, differ after any store that follows the
 * driver's, and a write's after any between the shadow's copy and the
 * driver's. */
static void rw_rewriter(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&rw.started, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&rw.stop, __ATOMIC_ACQUIRE))
		for (uint32_t i = 0; i < ROGUE_B_RW_REQS; i++) {
			uint8_t *b = &rw.req[i]->data[0];
			__atomic_store_n(&rw.req[i]->status, 1, __ATOMIC_RELAXED);
			__atomic_store_n(b, (uint8_t)(__atomic_load_n(b, __ATOMIC_RELAXED) + 1),
					 __ATOMIC_RELAXED);
		}
	__atomic_add_fetch(&rw.ended, 1, __ATOMIC_RELEASE);
}

/* One batch of the good client: 0, or its failure as ROGUE_B_REWRITE says. */
static long rw_good_batch(rref_t q, bool write, uint8_t fill)
{
	for (uint32_t i = 0; i < ROGUE_B_RW_REQS; i++) {
		struct BlockReq *req = BlockReq_ptr(BlockReq_deque32_get(q, i));
		req->op = write;
		memset(req->data, write ? fill + i : 0, ROGUE_B_BSIZE);
	}
	long n = BlockDevice_submit(&rw.dev, q);
	if (n != ROGUE_B_RW_REQS)
		return n < 0 ? n : 1L << 20 | n;
	for (uint32_t i = 0; i < ROGUE_B_RW_REQS; i++) {
		const struct BlockReq *req = BlockReq_ptr(BlockReq_deque32_get(q, i));
		for (uint32_t j = 0; req->status == 0 && !write && j < ROGUE_B_BSIZE; j++)
			if (req->data[j] != (uint8_t)(fill + i))
				return 2L << 20 | (long)req->block;
		if (req->status)
			return 2L << 20 | (long)req->block;
	}
	return 0;
}

/* The good client: writes its blocks and reads them back, in turn, until
 * the attacker is done or a batch fails. */
static void rw_good(void *arg)
{
	(void)arg;
	rref_t q = rw_batch(ROGUE_B_RW_GOOD, 1);
	long e = q ? 0 : -MAPLE_ENOMEM;
	__atomic_add_fetch(&rw.started, 1, __ATOMIC_RELEASE);
	for (uint8_t fill = 1; !e && !__atomic_load_n(&rw.stop, __ATOMIC_ACQUIRE); fill += 16) {
		e = rw_good_batch(q, true, fill);
		if (!e)
			e = rw_good_batch(q, false, fill);
		__atomic_add_fetch(&rw.batches, 2, __ATOMIC_RELEASE);
	}
	if (q)
		BlockReq_deque32_free(q);
	rw.good = e;
	__atomic_store_n(&rw.good_ended, 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&rw.ended, 1, __ATOMIC_RELEASE);
}

/* Whether the attacker submits again after i rounds: its rounds, for its
 * time (a loaded host runs the threads beside it in slices of
 * milliseconds), and until the good client has done its batches or
 * stopped. */
static bool rw_more(int i, uint64_t until)
{
	return i < ROGUE_B_RW_ROUNDS || maple_clock_ns() < until ||
	       (__atomic_load_n(&rw.batches, __ATOMIC_ACQUIRE) < ROGUE_B_RW_GOOD_BATCHES &&
		!__atomic_load_n(&rw.good_ended, __ATOMIC_ACQUIRE));
}

static long rewrite_race(struct BlockDevice_ref dev)
{
	memset(&rw, 0, sizeof rw);
	rw.dev = dev;
	rref_t q = rw_batch(0, 1); /* blocks 0-7 written once: their reads are judged */
	if (!q)
		return -MAPLE_ENOMEM;
	long r = BlockDevice_submit(&dev, q);
	r = r == ROGUE_B_RW_REQS ? 0 : r < 0 ? r : -MAPLE_EIO;
	for (uint32_t i = 0; i < ROGUE_B_RW_REQS; i++) {
		rw.req[i] = BlockReq_ptr(BlockReq_deque32_get(q, i));
		rw.req[i]->op = i < ROGUE_B_RW_REQS / 2; /* writes of 0-3, reads of 4-7 */
	}
	uint32_t threads = 0;
	for (int i = 0; i <= ROGUE_B_RW_REWRITERS && r >= 0; i++) {
		r = maple_thread_create(i ? rw_rewriter : rw_good, NULL);
		threads += r >= 0;
	}
	long odd = r < 0 ? r : 0;
	/* Every thread at work first (a thread starts after a while). */
	for (int ms = 0; !odd && __atomic_load_n(&rw.started, __ATOMIC_ACQUIRE) < threads; ms++) {
		if (ms == 10000)
			odd = -MAPLE_ETIMEDOUT;
		maple_sleep_ns(1000000);
	}
	uint64_t until = maple_clock_ns() + ROGUE_B_RW_MS * 1000000UL;
	for (int i = 0; !odd && rw_more(i, until); i++) {
		long n = BlockDevice_submit(&dev, q);
		if (!an_answer(n))
			odd = n;
	}
	__atomic_store_n(&rw.stop, 1, __ATOMIC_RELEASE);
	/* The threads end at their next look at stop (a submit at most). */
	for (int ms = 0; __atomic_load_n(&rw.ended, __ATOMIC_ACQUIRE) < threads; ms++) {
		if (ms == 10000)
			return -MAPLE_ETIMEDOUT; /* q stays: a thread may still use it */
		maple_sleep_ns(1000000);
	}
	BlockReq_deque32_free(q);
	if (odd)
		return odd;
	return rw.good ? rw.good : rw.batches ? 0 : 3L << 20;
}

/* ROGUE_B_HOARD's hoarders: their first submit that got no device's answer. */
static long hoard_odd;

/* A case's thread is done: its first odd result, if no other thread's came
 * first, is the case's (hoard_odd), and it counts as ended. */
static void thread_ends(long odd)
{
	long none = 0;
	__atomic_compare_exchange_n(&hoard_odd, &none, odd, false, __ATOMIC_RELAXED,
				    __ATOMIC_RELAXED);
	__atomic_add_fetch(&rw.ended, 1, __ATOMIC_RELEASE);
}

/* A deque of 32 two-block reads of blocks 0-31 whose buf fields all name
 * one small RRef nested in the first (the client lends it, so each
 * request's bytes are confirmed); RREF_NULL if the heap has no room. */
static rref_t hoard_batch(void)
{
	rref_t q = BlockReq_deque32_alloc(), small = rref_alloc(BlockBuf_TYPE, ROGUE_B_HOARD_SMALL);
	bool nested = false;
	for (uint32_t i = 0; q && small && i < BlockReq_deque32_CAP; i++) {
		rref_t r = BlockReq_alloc();
		if (!r || BlockReq_deque32_push(q, r) < 0) {
			if (r)
				BlockReq_free(r);
			break;
		}
		*BlockReq_ptr(r) = (struct BlockReq){.block = (i % 16) * 2, .nblocks = 2};
		if (!i && BlockReq_set_buf(r, small) < 0)
			break;
		nested = true; /* freed with the deque */
		BlockReq_ptr(r)->buf = small;
	}
	if (q && BlockReq_deque32_len(q) == BlockReq_deque32_CAP)
		return q;
	if (small && !nested)
		BlockBuf_free(small);
	if (q)
		BlockReq_deque32_free(q);
	return RREF_NULL;
}

/* ROGUE_B_NAME_OWN: the heap chunks the hoarders' requests lie in (their
 * first and last of each batch), which the namers read, and the namers
 * that may still read them: the hoarders keep their batches, so the chunks
 * stay mapped, until none may. */
static struct {
	uint64_t chunk[2 * ROGUE_B_HOARDERS];
	uint32_t n;
	uint32_t reading;
} named;

static uint64_t chunk_of(const void *p)
{
	return (uint64_t)p & ~(uint64_t)(SHARED_CHUNK - 1);
}

static void hoarder(void *arg)
{
	(void)arg;
	rref_t q = hoard_batch();
	long odd = q ? 0 : -MAPLE_ENOMEM;
	for (uint32_t i = 0; q && i < BlockReq_deque32_CAP; i += BlockReq_deque32_CAP - 1) {
		uint32_t k = __atomic_fetch_add(&named.n, 1, __ATOMIC_RELAXED);
		if (k < 2 * ROGUE_B_HOARDERS) /* ROGUE_B_HOARD's hoarders note them too */
			named.chunk[k] = chunk_of(BlockReq_ptr(BlockReq_deque32_get(q, i)));
	}
	__atomic_add_fetch(&rw.started, 1, __ATOMIC_RELEASE);
	while (!odd && !__atomic_load_n(&rw.stop, __ATOMIC_SEQ_CST)) {
		long n = BlockDevice_submit(&rw.dev, q);
		if (!an_answer(n))
			odd = n;
	}
	for (int ms = 0; __atomic_load_n(&named.reading, __ATOMIC_SEQ_CST) && ms < 10000; ms++)
		maple_sleep_ns(1000000);
	if (q)
		BlockReq_deque32_free(q);
	thread_ends(odd);
}

/* ROGUE_B_HOARD's good client: 16 two-block requests of blocks 32-63, their
 * bytes in one buffer of its own; RREF_NULL if the heap has no room. */
static rref_t hoard_good_batch(rref_t *buf)
{
	rref_t q = BlockReq_deque32_alloc();
	*buf = BlockBuf_alloc();
	bool nested = false; /* *buf in the first request: freed with it */
	uint32_t i = 0;
	for (; q && *buf && i < ROGUE_B_HOARD_GOOD_REQS; i++) {
		rref_t r = BlockReq_alloc();
		if (!r)
			break;
		*BlockReq_ptr(r) = (struct BlockReq){.block = ROGUE_B_RW_GOOD + 2 * i,
						     .nblocks = 2,
						     .offset = 2 * ROGUE_B_BSIZE * i};
		nested = nested || BlockReq_set_buf(r, *buf) == 0;
		BlockReq_ptr(r)->buf = *buf;
		if (!nested || BlockReq_deque32_push(q, r) < 0) {
			BlockReq_free(r);
			break;
		}
	}
	if (i == ROGUE_B_HOARD_GOOD_REQS)
		return q;
	if (*buf && !nested)
		BlockBuf_free(*buf);
	if (q)
		BlockReq_deque32_free(q);
	return RREF_NULL;
}

/* One batch of the good client, writes of `fill` or reads checking it: 0,
 * or its failure as ROGUE_B_HOARD says. */
static long hoard_good_round(rref_t q, uint8_t *bytes, bool write, uint8_t fill)
{
	const uint64_t span = 2 * ROGUE_B_BSIZE * ROGUE_B_HOARD_GOOD_REQS;
	memset(bytes, write ? fill : 0, span);
	for (uint32_t i = 0; i < ROGUE_B_HOARD_GOOD_REQS; i++)
		BlockReq_ptr(BlockReq_deque32_get(q, i))->op = write;
	long n = BlockDevice_submit(&rw.dev, q);
	if (n != ROGUE_B_HOARD_GOOD_REQS)
		return n < 0 ? n : 1L << 20 | n;
	for (uint32_t i = 0; i < ROGUE_B_HOARD_GOOD_REQS; i++) {
		const struct BlockReq *req = BlockReq_ptr(BlockReq_deque32_get(q, i));
		if (req->status)
			return 2L << 20 | (long)req->block;
	}
	for (uint64_t j = 0; !write && j < span; j++)
		if (bytes[j] != fill)
			return 2L << 20 | (long)(ROGUE_B_RW_GOOD + j / ROGUE_B_BSIZE);
	return 0;
}

static void hoard_good(void *arg)
{
	(void)arg;
	rref_t buf, q = hoard_good_batch(&buf);
	long e = q ? 0 : -MAPLE_ENOMEM;
	__atomic_add_fetch(&rw.started, 1, __ATOMIC_RELEASE);
	for (uint8_t fill = 1; !e && !__atomic_load_n(&rw.stop, __ATOMIC_ACQUIRE); fill += 16) {
		e = hoard_good_round(q, BlockBuf_ptr(buf)->data, true, fill);
		if (!e)
			e = hoard_good_round(q, BlockBuf_ptr(buf)->data, false, fill);
		__atomic_add_fetch(&rw.batches, 2, __ATOMIC_RELEASE);
	}
	if (q)
		BlockReq_deque32_free(q);
	rw.good = e;
	__atomic_store_n(&rw.good_ended, 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&rw.ended, 1, __ATOMIC_RELEASE);
}

static long hoard(struct BlockDevice_ref dev)
{
	memset(&rw, 0, sizeof rw);
	hoard_odd = 0;
	rw.dev = dev;
	long r = 0;
	uint32_t threads = 0;
	for (int i = 0; i <= ROGUE_B_HOARDERS && r >= 0; i++) {
		r = maple_thread_create(i ? hoarder : hoard_good, NULL);
		threads += r >= 0;
	}
	long odd = r < 0 ? r : 0;
	for (int ms = 0; !odd && __atomic_load_n(&rw.started, __ATOMIC_ACQUIRE) < threads; ms++) {
		if (ms == 10000)
			odd = -MAPLE_ETIMEDOUT;
		maple_sleep_ns(1000000);
	}
	uint64_t until = maple_clock_ns() + ROGUE_B_HOARD_MS * 1000000UL;
	while (!odd &&
	       (maple_clock_ns() < until ||
		(__atomic_load_n(&rw.batches, __ATOMIC_ACQUIRE) < ROGUE_B_HOARD_GOOD_BATCHES &&
		 !__atomic_load_n(&rw.good_ended, __ATOMIC_ACQUIRE))))
		maple_sleep_ns(1000000);
	__atomic_store_n(&rw.stop, 1, __ATOMIC_RELEASE);
	for (int ms = 0; __atomic_load_n(&rw.ended, __ATOMIC_ACQUIRE) < threads; ms++) {
		if (ms == 10000)
			return -MAPLE_ETIMEDOUT;
		maple_sleep_ns(1000000);
	}
	if (odd)
		return odd;
	if (rw.good)
		return rw.good;
	return hoard_odd ? hoard_odd : rw.batches ? 0 : 3L << 20;
}

/* ROGUE_B_RACE's writer (arg non-NULL) or reader of block ROGUE_B_RW_GOOD. */
static void racer(void *arg)
{
	rref_t q = BlockReq_deque32_alloc(), r = BlockReq_alloc();
	long odd = q && r && BlockReq_deque32_push(q, r) == 0 ? 0 : -MAPLE_ENOMEM;
	if (odd && r)
		BlockReq_free(r);
	__atomic_add_fetch(&rw.started, 1, __ATOMIC_RELEASE);
	for (uint8_t fill = 1; !odd && !__atomic_load_n(&rw.stop, __ATOMIC_ACQUIRE); fill++) {
		struct BlockReq *req = BlockReq_ptr(r);
		*req = (struct BlockReq){.block = ROGUE_B_RW_GOOD, .op = arg != NULL};
		memset(req->data, fill, ROGUE_B_BSIZE);
		long n = BlockDevice_submit(&rw.dev, q);
		if (!an_answer(n))
			odd = n;
	}
	if (q)
		BlockReq_deque32_free(q);
	thread_ends(odd);
}

static long race(struct BlockDevice_ref dev)
{
	memset(&rw, 0, sizeof rw);
	hoard_odd = 0;
	rw.dev = dev;
	long r = maple_thread_create(racer, &rw);
	uint32_t threads = r >= 0;
	if (r >= 0)
		r = maple_thread_create(racer, NULL);
	threads += r >= 0;
	long odd = r < 0 ? r : 0;
	for (int ms = 0; !odd && __atomic_load_n(&rw.started, __ATOMIC_ACQUIRE) < threads; ms++) {
		if (ms == 10000)
			odd = -MAPLE_ETIMEDOUT;
		maple_sleep_ns(1000000);
	}
	maple_sleep_ns(ROGUE_B_HOARD_MS * 1000000UL);
	__atomic_store_n(&rw.stop, 1, __ATOMIC_RELEASE);
	for (int ms = 0; __atomic_load_n(&rw.ended, __ATOMIC_ACQUIRE) < threads; ms++) {
		if (ms == 10000)
			return -MAPLE_ETIMEDOUT;
		maple_sleep_ns(1000000);
	}
	return odd ? odd : hoard_odd;
}

/* ROGUE_B_NAME_OWN's reads into buffers rogue did not lend: sent, and done. */
static long named_sent, named_done;

/* A 128 KiB payload (a BlockBuf's size class, each aligned to it) that is
 * not rogue's own: what a request's buf word names, read from the heap. */
static bool anothers_buffer(rref_t h)
{
	uint64_t va = (uint64_t)rref_ptr(h);
	return h && h >> 63 == 0 && va >= SHARED_HEAP_VA &&
	       va < SHARED_HEAP_VA + (uint64_t)SHARED_CHUNKS * SHARED_CHUNK &&
	       va % sizeof(struct BlockBuf) == 0 && rref_info(h) < 0;
}

/* A namer: each request's buf word in the chunks of rogue's hoarders'
 * requests (the shadow's copies are requests of that size class too,
 * made after them), and a two-block read into each buffer named there
 * that rogue does not own. */
static void namer(void *arg)
{
	uint32_t threads = (uint32_t)(uint64_t)arg;
	/* Counted before stop is read: a hoarder that saw stop and then no
	 * reader frees its batch, and this namer, seeing stop, reads nothing. */
	__atomic_add_fetch(&named.reading, 1, __ATOMIC_SEQ_CST);
	rref_t q = BlockReq_deque32_alloc(), r = BlockReq_alloc();
	long odd = q && r && BlockReq_deque32_push(q, r) == 0 ? 0 : -MAPLE_ENOMEM;
	if (odd && r)
		BlockReq_free(r);
	__atomic_add_fetch(&rw.started, 1, __ATOMIC_RELEASE);
	/* Every hoarder's chunks noted (each notes them before it counts). */
	while (__atomic_load_n(&rw.started, __ATOMIC_ACQUIRE) < threads &&
	       !__atomic_load_n(&rw.stop, __ATOMIC_SEQ_CST))
		maple_sleep_ns(1000000);
	const uint64_t slot = 8192; /* a BlockReq's size class: payloads aligned to it */
	long sent = 0, done = 0;
	while (!odd && !__atomic_load_n(&rw.stop, __ATOMIC_SEQ_CST)) {
		for (uint32_t c = 0;
		     c < __atomic_load_n(&named.n, __ATOMIC_RELAXED) && c < 2 * ROGUE_B_HOARDERS;
		     c++)
			for (uint64_t off = 0; !odd && off < SHARED_CHUNK; off += slot) {
				const struct BlockReq *other =
					(const struct BlockReq *)(named.chunk[c] + off);
				rref_t h = __atomic_load_n(&other->buf, __ATOMIC_RELAXED);
				if (!anothers_buffer(h))
					continue;
				struct BlockReq *req = BlockReq_ptr(r);
				*req = (struct BlockReq){.nblocks = 2, .status = 1, .buf = h};
				long n = BlockDevice_submit(&rw.dev, q);
				if (!an_answer(n))
					odd = n;
				sent++;
				done += n == 1 && req->status == 0;
			}
	}
	__atomic_sub_fetch(&named.reading, 1, __ATOMIC_SEQ_CST);
	if (q)
		BlockReq_deque32_free(q);
	__atomic_add_fetch(&named_sent, sent, __ATOMIC_RELAXED);
	__atomic_add_fetch(&named_done, done, __ATOMIC_RELAXED);
	thread_ends(odd);
}

static long name_own(struct BlockDevice_ref dev)
{
	memset(&rw, 0, sizeof rw);
	hoard_odd = 0;
	named_sent = named_done = 0;
	memset(&named, 0, sizeof named);
	rw.dev = dev;
	long r = 0;
	uint32_t threads = 0;
	const uint64_t all = ROGUE_B_HOARDERS + ROGUE_B_NAMERS;
	for (uint64_t i = 0; i < all && r >= 0; i++) {
		r = maple_thread_create(i < ROGUE_B_HOARDERS ? hoarder : namer, (void *)all);
		threads += r >= 0;
	}
	long odd = r < 0 ? r : 0;
	for (int ms = 0; !odd && __atomic_load_n(&rw.started, __ATOMIC_ACQUIRE) < threads; ms++) {
		if (ms == 10000)
			odd = -MAPLE_ETIMEDOUT;
		maple_sleep_ns(1000000);
	}
	uint64_t until = maple_clock_ns() + ROGUE_B_HOARD_MS * 1000000UL;
	while (!odd && maple_clock_ns() < until && !__atomic_load_n(&rw.ended, __ATOMIC_ACQUIRE))
		maple_sleep_ns(1000000);
	__atomic_store_n(&rw.stop, 1, __ATOMIC_SEQ_CST); /* against named.reading */
	for (int ms = 0; __atomic_load_n(&rw.ended, __ATOMIC_ACQUIRE) < threads; ms++) {
		if (ms == 10000)
			return -MAPLE_ETIMEDOUT;
		maple_sleep_ns(1000000);
	}
	if (odd || hoard_odd)
		return odd ? odd : hoard_odd;
	if (named_done)
		return 4L << 20 | named_done;
	return named_sent ? 0 : 5L << 20; /* no buffer found: the case proved nothing */
}

/* Read as an address to write: 0, so rogue faults (volatile, so the
 * write is emitted as written). */
static volatile uint64_t die_at;

static long die_inside(struct BlockDevice_ref dev)
{
	memset(&rw, 0, sizeof rw);
	hoard_odd = 0;
	rw.dev = dev;
	for (int i = 0; i < ROGUE_B_HOARDERS; i++)
		if (maple_thread_create(hoarder, NULL) < 0)
			return -MAPLE_EAGAIN;
	maple_sleep_ns(ROGUE_B_HOARD_MS * 1000000UL);
	*(volatile uint64_t *)die_at = 1;
	return -MAPLE_EINVAL;
}

/* ROGUE_B_BUFSWAP: ROGUE_B_HOARD's batch, submitted alone for ms
 * milliseconds (0: ROGUE_B_BUFSWAP_MS). */
static long bufswap(struct BlockDevice_ref dev, unsigned long ms)
{
	rref_t q = hoard_batch();
	if (!q)
		return -MAPLE_ENOMEM;
	long odd = 0;
	uint64_t until = maple_clock_ns() + (ms ? ms : ROGUE_B_BUFSWAP_MS) * 1000000UL;
	while (!odd && maple_clock_ns() < until) {
		long n = BlockDevice_submit(&dev, q);
		if (n != BlockReq_deque32_CAP)
			odd = n < 0 ? n : 1L << 20 | n;
		for (uint32_t i = 0; !odd && i < BlockReq_deque32_CAP; i++) {
			int32_t status = BlockReq_ptr(BlockReq_deque32_get(q, i))->status;
			if (status)
				odd = (long)-status << 32 | 2L << 20 | i;
		}
	}
	BlockReq_deque32_free(q);
	return odd;
}

static long inits_many(struct BlockDevice_ref dev)
{
	for (int i = 0; i < ROGUE_B_INITS; i++) {
		uint64_t blocks = i % 2 ? ROGUE_B_FEW : ROGUE_B_BLOCKS;
		long r = BlockDevice_init(&dev, blocks, ROGUE_B_BSIZE);
		if (r != (long)(blocks * ROGUE_B_BSIZE))
			return r;
	}
	rref_t q = BlockReq_deque32_alloc();
	long r = q ? push(q, 1, 0x22) : -MAPLE_ENOMEM;
	if (r >= 0)
		r = BlockDevice_submit(&dev, q);
	if (q)
		BlockReq_deque32_free(q);
	return r == 1 ? 0 : r < 0 ? r : 1L << 20 | r;
}

long rogue_blocks_case(long number, unsigned long target, unsigned long a2)
{
	struct BlockDevice_ref dev = {.domain = target};
	long r = BlockDevice_init(&dev, ROGUE_B_BLOCKS, ROGUE_B_BSIZE);
	if (r < 0)
		return r;
	if (number == ROGUE_B_REWRITE)
		return rewrite_race(dev);
	if (number == ROGUE_B_INITS_MANY)
		return inits_many(dev);
	if (number == ROGUE_B_HOARD)
		return hoard(dev);
	if (number == ROGUE_B_RACE)
		return race(dev);
	if (number == ROGUE_B_BUFSWAP)
		return bufswap(dev, a2);
	if (number == ROGUE_B_NAME_OWN)
		return name_own(dev);
	if (number == ROGUE_B_DIE_INSIDE)
		return die_inside(dev);
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
