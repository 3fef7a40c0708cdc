/*
 * bench: the callee and the sampler of the cross-domain call benchmarks
 * (bench.h). Each sample is one operation between two serialized TSC reads;
 * the sorted samples give the median and the 99th percentile.
 */
#include <test/bench/bench.h>
#include <test/rogue/cases.h>
#include <test/xa/xa.h>
#include <test/xb/xb.h>

#include <idl/bdev.h>
#include <lib/sort.h>
#include <sdk/dom.h>
#include <sdk/rref.h>

static uint64_t samples[BENCH_SAMPLES_MAX];
static uint64_t last_p99;

static long null(void)
{
	return 0;
}

static long add4(long a, long b, long c, long d)
{
	return a + b + c + d;
}

static __attribute__((noinline)) long direct_null(void)
{
	__asm__ volatile("");
	return 0;
}

static inline uint64_t tsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

#define BENCH_TYPE 0xbe7c
#define DEQUE_LEN  32

static rref_t one, deque; /* what the move benchmarks send back and forth */

/* A deque RRef whose payload lists DEQUE_LEN nested element RRefs. */
static rref_t make_deque(void)
{
	rref_t d = rref_alloc(BENCH_TYPE, DEQUE_LEN * sizeof(rref_t));
	rref_t *slots = d ? rref_ptr(d) : 0;
	for (int i = 0; slots && i < DEQUE_LEN; i++) {
		slots[i] = rref_alloc(BENCH_TYPE, 64);
		if (!slots[i] || rref_nest(slots[i], d))
			return RREF_NULL;
	}
	return d;
}

/* Send r to target and take it back; the handle it returns. */
static long bounce(uint64_t target, rref_t *r)
{
	long back = maple_xcall(target, Xb_echo_WORD, (long)*r, 0, 0, 0);
	if (back <= 0)
		return back ? back : -MAPLE_EINVAL;
	*r = (rref_t)back;
	return 0;
}

#define BATCH	    32
#define BLOCKS	    1024 /* the geometry every block benchmark sizes its device to */
#define BLOCK_BYTES 4096

static rref_t batches[2]; /* BATCH one-block requests: [0] reads, [1] writes */
static uint64_t sized[4]; /* the block devices sized so far */

/* BATCH requests of op on distinct blocks, the writes' bytes filled. */
static rref_t make_batch(uint32_t op)
{
	rref_t q = BlockReq_deque32_alloc();
	for (uint32_t i = 0; q && i < BATCH; i++) {
		rref_t r = BlockReq_alloc();
		if (!r || BlockReq_deque32_push(q, r) < 0)
			return RREF_NULL;
		struct BlockReq *req = BlockReq_ptr(r);
		req->block = op * BATCH + i;
		req->op = op;
		for (uint32_t w = 0; w < BLOCK_BYTES / 8; w++)
			((uint64_t *)req->data)[w] = ((uint64_t)req->block << 32) + w;
	}
	return q;
}

/* One submit of the op batch to target, sized first if it is new here. */
static long submit_batch(uint64_t target, uint32_t op)
{
	struct BlockDevice_ref ref = {.domain = target};
	unsigned i = 0;
	while (i < DOM_ARRAY_LEN(sized) && sized[i] && sized[i] != target)
		i++;
	if (i == DOM_ARRAY_LEN(sized))
		return -MAPLE_ENOMEM;
	if (!sized[i]) {
		long r = BlockDevice_init(&ref, BLOCKS, BLOCK_BYTES);
		if (r < 0)
			return r;
		sized[i] = target;
	}
	if (!batches[op] && !(batches[op] = make_batch(op)))
		return -MAPLE_ENOMEM;
	long r = BlockDevice_submit(&ref, batches[op]);
	return r == BATCH ? 0 : r < 0 ? r : -MAPLE_EINVAL;
}

static long run_op(long op, uint64_t target)
{
	switch (op) {
	case BENCH_OP_DIRECT:
		return direct_null();
	case BENCH_OP_XCALL_NULL:
		return maple_xcall(target, Xb_null_WORD, 0, 0, 0, 0);
	case BENCH_OP_XCALL_ADD4:
		return maple_xcall(target, Xb_add4_WORD, 1, 2, 3, 4) == 10 ? 0 : -MAPLE_EINVAL;
	case BENCH_OP_SYSCALL:
		return maple_null();
	case BENCH_OP_NESTED:
		return maple_xcall(target, Xa_chain_METHOD, 1, 0, 0, 0) > 0 ? 0 : -MAPLE_EINVAL;
	case BENCH_OP_FAULT:
		return maple_xcall(target, Rogue_run_METHOD, ROGUE_UD2, 0, 0, 0) == -MAPLE_ECALLEE
			       ? 0
			       : -MAPLE_EINVAL;
	case BENCH_OP_MOVE_RREF:
		return bounce(target, &one);
	case BENCH_OP_DEQUE32:
		return bounce(target, &deque);
	case BENCH_OP_PROXY: {
		struct BlockDevice_ref ref = {.domain = target};
		long r = BlockDevice_stats(&ref);
		return r < 0 ? r : 0;
	}
	case BENCH_OP_SUBMIT_READS:
		return submit_batch(target, 0);
	case BENCH_OP_SUBMIT_WRITES:
		return submit_batch(target, 1);
	case BENCH_OP_ALLOC_FREE: {
		rref_t r = rref_alloc(BENCH_TYPE, 64);
		return r && rref_free(r) == 0 ? 0 : -MAPLE_ENOMEM;
	}
	default:
		return -MAPLE_EINVAL;
	}
}

static long sample(long op, long target, long n)
{
	if (n < 1 || n > BENCH_SAMPLES_MAX)
		return -MAPLE_EINVAL;
	if ((!one && !(one = rref_alloc(BENCH_TYPE, 64))) || (!deque && !(deque = make_deque())))
		return -MAPLE_ENOMEM;
	for (long i = 0; i < n; i++) {
		uint64_t t0 = tsc();
		long r = run_op(op, (uint64_t)target);
		uint64_t t1 = tsc();
		if (r < 0)
			return r;
		samples[i] = t1 - t0;
	}
	sort_u64(samples, n);
	last_p99 = samples[n * 99 / 100];
	return (long)samples[n / 2];
}

static long p99(void)
{
	return (long)last_p99;
}

long domain_main(long arg)
{
	(void)arg;
	const uint64_t methods[] = {
		[Bench_null_METHOD] = MAPLE_METHOD(null),
		[Bench_add4_METHOD] = MAPLE_METHOD(add4),
		[Bench_sample_METHOD] = MAPLE_METHOD(sample),
		[Bench_p99_METHOD] = MAPLE_METHOD(p99),
	};
	/* Indexed by the numbers idlc generated: a method missing here fails the build. */
	_Static_assert(DOM_ARRAY_LEN(methods) == Bench_METHODS, "Bench: every method exported");
	return maple_export(methods, DOM_ARRAY_LEN(methods));
}
