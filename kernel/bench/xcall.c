/*
 * The in-guest half of bench/xcall: with `bench=xcall` on the command line
 * the kernel loads the bench, xa, xb and xc domains, has bench time each
 * operation from inside a domain (bench.h), prints one line per operation,
 *
 *     bench: xcall OP n=N median=CYCLES p99=CYCLES
 *
 * then the timing pair's own cost (timer-overhead) and the fault case with
 * and without the lazy stack setup (fault_to_error), and powers off.
 * bench/xcall on the host turns the lines into a table of ratios to the
 * null syscall measured in the same run.
 */
#include <bench/bench.h>
#include <core/log.h>
#include <core/sched.h>
#include <domain/domain.h>
#include <domain/watchdog.h>
#include <lib/sort.h>
#include <platform/pc/power.h>
#include <test/bench/bench.h>
#include <test/rogue/cases.h>

#define CALL_SAMPLES  2000
#define FAULT_SAMPLES 64

/*
 * The watchdog's budget while the rows run. One row is one call into the
 * bench domain making CALL_SAMPLES operations; under TCG a submit of 32
 * blocks takes a millisecond straight to membdev and more through the
 * shadow, so that call runs for seconds, and the default budget (1000 ms)
 * failed the bench domain in its first submit row (-MAPLE_ETIMEDOUT, then
 * -MAPLE_EDEAD for every row after: no results). The bench measures; it is
 * not under test. It sets the budget back before the fault case, whose
 * samples are single calls.
 */
#define ROWS_BUDGET_MS 300000

struct op {
	const char *name;
	int op;
	const char *target;
};

#define BENCH_ROW(name, op, target) {name, op, target},
static const struct op ops[] = {BENCH_XCALL_ROWS(BENCH_ROW)};
#undef BENCH_ROW

/*
 * The timer's own cost: CALL_SAMPLES empty pairs of the bench domain's
 * timing reads (the same `lfence; rdtsc; lfence` as tsc() in
 * domains/bench/bench.c, which this must match), back to back. Every other
 * figure includes one such pair; it is reported as its own row
 * (timer-overhead), not subtracted, because a median of differences is not
 * a difference of medians. Taken here in ring 0 rather than in the domain:
 * the sequence and its cost under TCG or on hardware do not depend on the
 * ring (CR4.TSD is clear).
 */
static void timer_overhead(void)
{
	static uint64_t cycles[CALL_SAMPLES];
	for (int i = 0; i < CALL_SAMPLES; i++) {
		uint32_t lo0, hi0, lo1, hi1;
		__asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo0), "=d"(hi0)::"memory");
		__asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo1), "=d"(hi1)::"memory");
		cycles[i] = (((uint64_t)hi1 << 32) | lo1) - (((uint64_t)hi0 << 32) | lo0);
	}
	sort_u64(cycles, CALL_SAMPLES);
	klog("bench: xcall timer-overhead n=%d median=%lu p99=%lu", CALL_SAMPLES,
	     cycles[CALL_SAMPLES / 2], cycles[CALL_SAMPLES * 99 / 100]);
}

/*
 * A call into a fresh rogue that does not fault (its read-domain case with
 * no target: -MAPLE_EINVAL), made on another kernel thread: it runs rogue's
 * entry code, which TCG then has translated, without making the bench
 * thread's stack in rogue. Static: one at a time, and the helper may still
 * be waking the waiter after the waiter has gone on.
 */
static struct {
	struct domain *rogue;
	long result;
	int done;
	struct waitq wq;
} warm;

static long warm_call(struct domain *rogue)
{
	return domain_call(rogue, Rogue_run_METHOD, ROGUE_READ_DOMAIN, 0, 0, 0);
}

static void warm_thread(void *unused)
{
	(void)unused;
	warm.result = warm_call(warm.rogue);
	__atomic_store_n(&warm.done, 1, __ATOMIC_RELEASE);
	waitq_wake_all(&warm.wq);
	thread_exit();
}

static bool warm_done(void *unused)
{
	(void)unused;
	return __atomic_load_n(&warm.done, __ATOMIC_ACQUIRE);
}

static long warm_elsewhere(struct domain *rogue)
{
	warm.rogue = rogue;
	__atomic_store_n(&warm.done, 0, __ATOMIC_RELEASE);
	if (!thread_create("bench-warm", warm_thread, NULL))
		return -MAPLE_ENOMEM;
	waitq_wait(&warm.wq, warm_done, NULL);
	return warm.result;
}

/*
 * Fault to error: each sample needs a fresh rogue, so the kernel collects
 * single samples and sorts them itself. The first call into a domain on a
 * thread also makes that thread's stack there (the gate's SYS_GATE_STACK),
 * so the samples rotate through three kinds, each its own row:
 *   fault-to-caller-error: a call that does not fault made the stack first,
 *     on this thread: the lazy setup is excluded (the headline figure);
 *   -first-call: the same call made on another thread, so rogue's code has
 *     run but this thread's stack is made by the measured call: the
 *     difference to the first row is the lazy stack setup;
 *   -cold: no call before (what this row measured before the split): the
 *     difference to -first-call is running fresh code, under TCG mostly
 *     translating it.
 */
enum { WARM, FIRST_CALL, COLD, KINDS };

static void fault_to_error(struct domain *bench)
{
	static uint64_t cycles[KINDS][FAULT_SAMPLES];
	static const char *const names[KINDS] = {"fault-to-caller-error",
						 "fault-to-caller-error-first-call",
						 "fault-to-caller-error-cold"};
	char err[128];
	for (int i = 0; i < KINDS * FAULT_SAMPLES; i++) {
		int kind = i % KINDS;
		struct domain *rogue = domain_create("rogue", err, sizeof err);
		if (!rogue) {
			klog("bench: xcall cannot create rogue: %s", err);
			return;
		}
		/* What a warm-up call returns; COLD makes none and so passes. */
		long w = kind == WARM	      ? warm_call(rogue)
			 : kind == FIRST_CALL ? warm_elsewhere(rogue)
					      : -MAPLE_EINVAL;
		long r = w == -MAPLE_EINVAL
				 ? domain_call(bench, Bench_sample_METHOD, BENCH_OP_FAULT,
					       (long)domain_handle(rogue), 1, 0)
				 : -1;
		domain_destroy(domain_handle(rogue), err, sizeof err);
		if (w != -MAPLE_EINVAL) {
			klog("bench: xcall %s warm-up call failed: %ld, not %d", names[kind], w,
			     -MAPLE_EINVAL);
			return;
		}
		if (r < 0) {
			klog("bench: xcall %s sample failed: %ld", names[kind], r);
			return;
		}
		cycles[kind][i / KINDS] = (uint64_t)r;
	}
	for (int k = 0; k < KINDS; k++) {
		sort_u64(cycles[k], FAULT_SAMPLES);
		klog("bench: xcall %s n=%d median=%lu p99=%lu", names[k], FAULT_SAMPLES,
		     cycles[k][FAULT_SAMPLES / 2], cycles[k][FAULT_SAMPLES * 99 / 100]);
	}
}

void bench_xcall_thread(void *unused)
{
	(void)unused;
	struct domain *bench = bench_need("xcall", "bench");
	/* bdev_shadow creates membdev, the driver behind it. */
	bool ok = bench && bench_need("xcall", "xa") && bench_need("xcall", "xb") &&
		  bench_need("xcall", "xc") && bench_need("xcall", "bdev_shadow");
	uint64_t budget = watchdog_set_budget_ms(ROWS_BUDGET_MS);
	for (unsigned i = 0; ok && i < sizeof ops / sizeof ops[0]; i++) {
		struct domain *target =
			ops[i].target ? domain_get_by_name(ops[i].target, NULL) : NULL;
		long handle = target ? (long)domain_handle(target) : 0;
		domain_put(target);
		long median =
			domain_call(bench, Bench_sample_METHOD, ops[i].op, handle, CALL_SAMPLES, 0);
		long p99 = domain_call(bench, Bench_p99_METHOD, 0, 0, 0, 0);
		if (median < 0)
			klog("bench: xcall %s failed: %ld", ops[i].name, median);
		else
			klog("bench: xcall %s n=%d median=%ld p99=%ld", ops[i].name, CALL_SAMPLES,
			     median, p99);
	}
	watchdog_set_budget_ms(budget);
	if (ok) {
		timer_overhead();
		fault_to_error(bench);
	}
	klog("bench: xcall done");
	power_off();
}
