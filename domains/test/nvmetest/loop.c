/*
 * The NVMe benchmark's loop (loop.h). Requests are allocated once and
 * reused: 4 KiB requests carry their data inline, 128 KiB ones a nested
 * BlockBuf. Random 4 KiB requests pick blocks at random in the first
 * NVT_BLOCKS, distinct within a batch; sequential 128 KiB ones walk them in order, wrapping. A
 * batch is qd requests and one submit call.
 */
#include <test/lib/bench_run.h>
#include <test/nvmetest/loop.h>

#define BATCH BlockReq_deque32_CAP

static struct {
	struct nvt_target target;
	long mix, qd, ms;
	rref_t queue;
} run;
static uint64_t stat[NvmeBenchStat_COUNT];
static struct bench_run bench = BENCH_RUN(stat, NVB_RUNNING, NVB_NS, NVB_ERRORS);

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A random block that none of the batch's first i requests names: a batch
 * names each block at most once (domains/idl/bdev.idl), which the shadow's
 * checks enforce for writes. */
static uint64_t distinct_block(rref_t queue, uint32_t i)
{
	for (;;) {
		uint64_t b = xorshift() % NVT_BLOCKS;
		uint32_t j = 0;
		while (j < i && BlockReq_ptr(BlockReq_deque32_get(queue, j))->block != b)
			j++;
		if (j == i)
			return b;
	}
}

/* The deque and its BATCH requests, each with a BlockBuf nested: once. */
static long alloc_requests(void)
{
	if (run.queue)
		return 0;
	rref_t q = BlockReq_deque32_alloc();
	if (!q)
		return -MAPLE_ENOMEM;
	for (uint32_t i = 0; i < BATCH; i++) {
		rref_t r = BlockReq_alloc(), b = r ? BlockBuf_alloc() : RREF_NULL;
		long e = b ? BlockReq_set_buf(r, b) : -MAPLE_ENOMEM;
		if (e >= 0)
			e = BlockReq_deque32_push(q, r);
		if (e < 0) {
			if (b && !BlockReq_ptr(r)->buf)
				BlockBuf_free(b);
			if (r)
				BlockReq_free(r);
			BlockReq_deque32_free(q);
			return e;
		}
	}
	run.queue = q;
	return 0;
}

static void worker(void *arg)
{
	(void)arg;
	/* Here, not in bench(): zeroing 4 MiB of buffers the first time can
	 * outlast the call watchdog under TCG. */
	long e = alloc_requests();
	if (e < 0) {
		dom_printf("nvmetest: no memory for the benchmark's requests: error %ld", e);
		bench_run_end(&bench, 1);
		return;
	}
	bool large = run.mix == NVM_SEQREAD128K || run.mix == NVM_SEQWRITE128K;
	uint32_t op = run.mix == NVM_RANDWRITE4K || run.mix == NVM_SEQWRITE128K;
	uint32_t per = large ? NVT_LARGE_BLOCKS : 1, qd = (uint32_t)run.qd;
	struct BlockReq_deque32 *dq = BlockReq_deque32_ptr(run.queue);
	/* The deque holds BATCH requests; a qd-1 batch lends it with len 1. */
	dq->len = qd;
	uint64_t next = 0, ops = 0, errors = 0;
	uint64_t end = bench_run_window(&bench, run.ms);
	while (maple_clock_ns() < end) {
		for (uint32_t i = 0; i < qd; i++) {
			struct BlockReq *r = BlockReq_ptr(BlockReq_deque32_get(run.queue, i));
			if (large) {
				r->block = next;
				next = (next + per) % NVT_BLOCKS;
			} else {
				r->block = distinct_block(run.queue, i);
			}
			r->op = op;
			r->nblocks = per;
			r->offset = 0;
			r->status = 1;
		}
		long n = run.target.submit(run.target.device, run.queue);
		if (n > 0)
			ops += (uint64_t)n;
		if (n != (long)qd)
			errors++;
		__atomic_store_n(&stat[NVB_OPS], ops, __ATOMIC_RELAXED);
	}
	dq->len = BATCH;
	bench_run_window_end(&bench);
	bench_run_end(&bench, errors);
}

long nvt_bench_start(const struct nvt_target *target, long mix, long qd, long ms)
{
	if (mix < 0 || mix >= NvmeMix_COUNT || (qd != 1 && qd != BATCH) || ms <= 0)
		return -MAPLE_EINVAL;
	long r = bench_run_claim(&bench);
	if (r < 0)
		return r;
	r = target->init(target->device, NVT_BLOCKS, NVT_BLOCK_SIZE);
	if (r < 0) {
		bench_run_release(&bench);
		return r;
	}
	run.target = *target;
	run.mix = mix;
	run.qd = qd;
	run.ms = ms;
	return bench_run_start(&bench, worker);
}

/* NvmeTest.result(): one counter of the latest run. */
static long nvt_bench_result(long which)
{
	return bench_run_result(&bench, which);
}

long nvt_export(long (*probe)(long device, long which),
		long (*bench_fn)(long device, long mix, long qd, long ms))
{
	const uint64_t methods[] = {
		[NvmeTest_probe_METHOD] = MAPLE_METHOD(probe),
		[NvmeTest_bench_METHOD] = MAPLE_METHOD(bench_fn),
		[NvmeTest_result_METHOD] = MAPLE_METHOD(nvt_bench_result),
	};
	_Static_assert(DOM_ARRAY_LEN(methods) == NvmeTest_METHODS, "NvmeTest: every method");
	return maple_export(methods, DOM_ARRAY_LEN(methods));
}
