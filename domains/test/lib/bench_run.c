/*
 * A benchmark domain's run (bench_run.h): the claim, the thread, the window
 * and the counters, one home for bench=net's and bench=nvme's loops.
 */
#include <test/lib/bench_run.h>

long bench_run_claim(struct bench_run *r)
{
	return __atomic_exchange_n(&r->busy, 1, __ATOMIC_ACQUIRE) ? -MAPLE_EINVAL : 0;
}

bool bench_run_busy(struct bench_run *r)
{
	return __atomic_load_n(&r->busy, __ATOMIC_ACQUIRE);
}

void bench_run_release(struct bench_run *r)
{
	__atomic_store_n(&r->busy, 0, __ATOMIC_RELEASE);
}

long bench_run_start(struct bench_run *r, void (*worker)(void *))
{
	for (long i = 0; i < r->nstat; i++)
		r->stat[i] = 0;
	r->stat[r->running] = 1;
	long e = maple_thread_create(worker, NULL);
	if (e >= 0)
		return 0;
	r->stat[r->running] = 0;
	bench_run_release(r);
	return e;
}

uint64_t bench_run_window(struct bench_run *r, long ms)
{
	r->t0 = maple_clock_ns();
	return r->t0 + (uint64_t)ms * 1000000;
}

void bench_run_window_end(struct bench_run *r)
{
	r->stat[r->ns] = maple_clock_ns() - r->t0;
}

void bench_run_end(struct bench_run *r, uint64_t errors)
{
	r->stat[r->errors] = errors;
	__atomic_store_n(&r->stat[r->running], 0, __ATOMIC_RELEASE);
	bench_run_release(r);
}

long bench_run_result(struct bench_run *r, long which)
{
	if (which < 0 || which >= r->nstat)
		return -MAPLE_EINVAL;
	return (long)__atomic_load_n(&r->stat[which], __ATOMIC_ACQUIRE);
}
