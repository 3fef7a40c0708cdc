/*
 * bench: the callee and the sampler of the cross-domain call benchmarks
 * (bench.h). Each sample is one operation between two serialized TSC reads;
 * the sorted samples give the median and the 99th percentile.
 */
#include <bench/bench.h>
#include <rogue/cases.h>

#include <maple/dom.h>

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

static long run_op(long op, uint64_t target)
{
	switch (op) {
	case BENCH_OP_DIRECT:
		return direct_null();
	case BENCH_OP_XCALL_NULL:
		return maple_xcall(target, 1, 0, 0, 0, 0);
	case BENCH_OP_XCALL_ADD4:
		return maple_xcall(target, 2, 1, 2, 3, 4) == 10 ? 0 : -MAPLE_EINVAL;
	case BENCH_OP_SYSCALL:
		return maple_null();
	case BENCH_OP_NESTED:
		return maple_xcall(target, 0, 1, 0, 0, 0) > 0 ? 0 : -MAPLE_EINVAL;
	case BENCH_OP_FAULT:
		return maple_xcall(target, ROGUE_RUN, ROGUE_UD2, 0, 0, 0) == -MAPLE_ECALLEE
			       ? 0
			       : -MAPLE_EINVAL;
	default:
		return -MAPLE_EINVAL;
	}
}

static void sort(uint64_t *a, long n)
{
	for (long gap = n / 2; gap > 0; gap /= 2) /* Shell sort: small, no recursion */
		for (long i = gap; i < n; i++)
			for (long j = i; j >= gap && a[j - gap] > a[j]; j -= gap) {
				uint64_t t = a[j];
				a[j] = a[j - gap];
				a[j - gap] = t;
			}
}

static long sample(long op, long target, long n)
{
	if (n < 1 || n > BENCH_SAMPLES_MAX)
		return -MAPLE_EINVAL;
	for (long i = 0; i < n; i++) {
		uint64_t t0 = tsc();
		long r = run_op(op, (uint64_t)target);
		uint64_t t1 = tsc();
		if (r < 0)
			return r;
		samples[i] = t1 - t0;
	}
	sort(samples, n);
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
		[BENCH_NULL] = MAPLE_METHOD(null),
		[BENCH_ADD4] = MAPLE_METHOD(add4),
		[BENCH_SAMPLE] = MAPLE_METHOD(sample),
		[BENCH_P99] = MAPLE_METHOD(p99),
	};
	return maple_export(methods, DOM_ARRAY_LEN(methods));
}
