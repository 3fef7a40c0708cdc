/*
 * Picking the in-guest benchmark from the command line (`bench=xcall`,
 * `bench=recovery`); each runs in its own thread and powers off when done.
 * Also what the benchmarks share: finding or creating their domains.
 * Test image only (kernel/test-sources).
 */
#include <bench/bench.h>
#include <core/boot_runner.h>
#include <core/log.h>
#include <core/sched.h>
#include <core/time.h>
#include <domain/domain.h>
#include <lib/cmdline.h>
#include <lib/string.h>
#include <stddef.h>

static const struct {
	const char *name;
	void (*thread)(void *);
} benchmarks[] = {
	{"xcall", bench_xcall_thread},
	{"recovery", bench_recovery_thread},
	{"nvme", bench_nvme_thread},
	{"nvme_crash", bench_nvme_crash_thread},
	{"nvme_checks", bench_nvme_checks_thread},
	{"net", bench_net_thread},
	{"net_crash", bench_net_crash_thread},
	{"faults", bench_faults_thread},
};

struct domain *bench_create(const char *bench, const char *name)
{
	char err[128];
	struct domain *d = domain_create(name, err, sizeof err);
	if (!d)
		klog("bench: %s cannot create %s: %s", bench, name, err);
	return d;
}

struct domain *bench_need(const char *bench, const char *name)
{
	struct domain *d = domain_get_by_name(name, NULL);
	domain_put(d); /* it stays: nothing but the bench destroys its domains */
	return d ? d : bench_create(bench, name);
}

void bench_destroy(const char *bench, struct domain *d)
{
	char err[128];
	if (d && domain_destroy(domain_handle(d), err, sizeof err) < 0)
		klog("bench: %s cannot destroy %s: %s", bench, d->name, err);
}

/* `bench=NAME` on the command line (a boot runner: only the test image has it). */
static void bench_start(const char *cmdline)
{
	char which[16];
	if (!cmdline_get(cmdline, "bench", which, sizeof which)) {
		klog("bench: benchmark name too long (known: xcall, recovery, nvme, nvme_crash, "
		     "nvme_checks, net, net_crash, faults)");
		return;
	}
	for (unsigned i = 0; i < sizeof benchmarks / sizeof benchmarks[0]; i++) {
		if (strcmp(which, benchmarks[i].name))
			continue;
		/* The boot command line lives as long as the kernel: a benchmark
		 * reads its own keys from it (nvme_ms=). */
		if (!thread_create("bench", benchmarks[i].thread, (void *)cmdline))
			klog("bench: cannot create the benchmark thread");
		return;
	}
	klog("bench: unknown benchmark '%s' (known: xcall, recovery, nvme, nvme_crash, "
	     "nvme_checks, net, net_crash, faults)",
	     which);
}
BOOT_RUNNER(bench, "bench", bench_start);

void bench_wait_run(struct domain *client, uint64_t result_method, long running, uint64_t ms)
{
	const uint64_t ms_ns = 1000000;
	uint64_t deadline = time_ns() + (ms + 30 * 1000) * ms_ns;
	while (domain_call(client, result_method, running, 0, 0, 0) == 1 && time_ns() < deadline)
		thread_sleep_ns(10 * ms_ns);
}
