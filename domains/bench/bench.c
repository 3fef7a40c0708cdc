/*
 * bench: the callee and the in-domain loops of the cross-domain call and
 * syscall benchmarks (bench.h).
 */
#include <bench/bench.h>

#include <maple/dom.h>

static long null(void)
{
	return 0;
}

static long add4(long a, long b, long c, long d)
{
	return a + b + c + d;
}

static long loop_xcall(long domain, long n)
{
	uint64_t start = maple_clock_ns();
	for (long i = 0; i < n; i++) {
		long r = maple_xcall((uint64_t)domain, 0, 0, 0, 0, 0);
		if (r < 0)
			return r;
	}
	return (long)(maple_clock_ns() - start);
}

static long loop_syscall(long n)
{
	uint64_t start = maple_clock_ns();
	for (long i = 0; i < n; i++)
		maple_null();
	return (long)(maple_clock_ns() - start);
}

long domain_main(long arg)
{
	(void)arg;
	const uint64_t methods[] = {
		[BENCH_NULL] = MAPLE_METHOD(null),
		[BENCH_ADD4] = MAPLE_METHOD(add4),
		[BENCH_LOOP_XCALL] = MAPLE_METHOD(loop_xcall),
		[BENCH_LOOP_SYSCALL] = MAPLE_METHOD(loop_syscall),
	};
	return maple_export(methods, DOM_ARRAY_LEN(methods));
}
