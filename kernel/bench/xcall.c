/*
 * The in-guest half of bench/xcall: with `bench=xcall` on the command line
 * the kernel loads the bench, xa, xb and xc domains, has bench time each
 * operation from inside a domain (bench.h), prints one line per operation,
 *
 *     bench: xcall OP n=N median=CYCLES p99=CYCLES
 *
 * and powers off. bench/xcall on the host turns the lines into a table of
 * ratios to the null syscall measured in the same run.
 */
#include <bench/bench.h>
#include <core/log.h>
#include <core/sched.h>
#include <domain/domain.h>
#include <platform/pc/power.h>
#include <test/bench/bench.h>

#define CALL_SAMPLES  2000
#define FAULT_SAMPLES 64

struct op {
	const char *name;
	int op;
	const char *target;
};

static const struct op ops[] = {
	{"direct-call", BENCH_OP_DIRECT, NULL},
	{"null-syscall", BENCH_OP_SYSCALL, NULL},
	{"xcall-null", BENCH_OP_XCALL_NULL, "xb"},
	{"xcall-4-args", BENCH_OP_XCALL_ADD4, "xb"},
	{"xcall-nested-a-b-c-a", BENCH_OP_NESTED, "xa"},
	{"xcall-move-rref", BENCH_OP_MOVE_RREF, "xb"},
	{"xcall-move-deque-32", BENCH_OP_DEQUE32, "xb"},
	{"rref-alloc-free", BENCH_OP_ALLOC_FREE, NULL},
	{"proxy-call-membdev", BENCH_OP_PROXY, "membdev"},
	{"proxy-call-via-shadow", BENCH_OP_PROXY, "bdev_shadow"},
};

static struct domain *need(const char *name)
{
	char err[128];
	struct domain *d = domain_get_by_name(name);
	domain_put(d); /* it stays: nothing but the bench destroys its domains */
	if (!d && !(d = domain_create(name, err, sizeof err)))
		klog("bench: xcall cannot create %s: %s", name, err);
	return d;
}

static void sort(uint64_t *a, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && a[j - 1] > a[j]; j--) {
			uint64_t t = a[j];
			a[j] = a[j - 1];
			a[j - 1] = t;
		}
}

/* Fault to error: each sample needs a fresh rogue, so the kernel collects
 * single samples and sorts them itself. */
static void fault_to_error(struct domain *bench)
{
	static uint64_t cycles[FAULT_SAMPLES];
	char err[128];
	for (int i = 0; i < FAULT_SAMPLES; i++) {
		struct domain *rogue = domain_create("rogue", err, sizeof err);
		if (!rogue) {
			klog("bench: xcall cannot create rogue: %s", err);
			return;
		}
		long r = domain_call(bench, BENCH_SAMPLE, BENCH_OP_FAULT,
				     (long)domain_handle(rogue), 1, 0);
		domain_destroy(domain_handle(rogue), err, sizeof err);
		if (r < 0) {
			klog("bench: xcall fault-to-error sample failed: %ld", r);
			return;
		}
		cycles[i] = (uint64_t)r;
	}
	sort(cycles, FAULT_SAMPLES);
	klog("bench: xcall fault-to-caller-error n=%d median=%lu p99=%lu", FAULT_SAMPLES,
	     cycles[FAULT_SAMPLES / 2], cycles[FAULT_SAMPLES * 99 / 100]);
}

void bench_xcall_thread(void *unused)
{
	(void)unused;
	struct domain *bench = need("bench");
	/* bdev_shadow creates membdev, the driver behind it. */
	bool ok = bench && need("xa") && need("xb") && need("xc") && need("bdev_shadow");
	for (unsigned i = 0; ok && i < sizeof ops / sizeof ops[0]; i++) {
		struct domain *target = ops[i].target ? domain_get_by_name(ops[i].target) : NULL;
		long handle = target ? (long)domain_handle(target) : 0;
		domain_put(target);
		long median = domain_call(bench, BENCH_SAMPLE, ops[i].op, handle, CALL_SAMPLES, 0);
		long p99 = domain_call(bench, BENCH_P99, 0, 0, 0, 0);
		if (median < 0)
			klog("bench: xcall %s failed: %ld", ops[i].name, median);
		else
			klog("bench: xcall %s n=%d median=%ld p99=%ld", ops[i].name, CALL_SAMPLES,
			     median, p99);
	}
	if (ok)
		fault_to_error(bench);
	klog("bench: xcall done");
	power_off();
}
