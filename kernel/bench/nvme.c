/*
 * The in-guest half of bench/nvme (helper script: bench/nvme).
 *
 * bench=nvme: the four mixes of nvmetest's loop (domains/idl/nvmetest.idl:
 * 4 KiB random read and write, 128 KiB sequential read and write) at queue
 * depth 1 and 32 (a batch of 32 per submit), each through three paths,
 * interleaved per measurement so that drift in the host's speed hits all
 * three alike: the client inside the driver's domain (nvme_bench), one
 * crossing (nvmetest calling nvme), and through the shadow (nvmetest calling
 * nvme_shadow, which calls nvme). nvme0 is granted to one domain at a time,
 * so each measurement creates its domains and destroys them after. One line
 * per measurement, then `bench: nvme done`:
 *
 *     bench: nvme path=P mix=M qd=Q ops=N ns=T iops=I mbps=B
 *
 * `nvme_ms=N` on the command line sets each measurement's length (default
 * NVME_MS_DEFAULT). A measurement that went wrong says so on a line of its
 * own, `bench: nvme failure path=P mix=M qd=Q: why`.
 *
 * bench=nvme_checks: the same mixes through nvme_shadow without its
 * end-to-end checks (path=unchecked), with them but no read-back of writes
 * (sums) and as it runs (checked: every acknowledged write read back), in
 * the same lines (bench/nvme-checks).
 *
 * bench=nvme_crash: bdclient's verified workload (half writes, every read
 * checked) through nvme_shadow for CRASH_PHASE_MS without crashes (calm_ops),
 * then as long again while the driver is struck every CRASH_MS with the
 * injection bench=recovery uses (bench/crasher.h), printing the requests
 * done in each 10 ms bin,
 *
 *     bench: nvme series t_ms=T ops=N crash=0|1
 *
 * and at the end `bench: nvme crash ops=N crashes=C errors=E lost=L calm_ops=N`
 * (ops: requests done in the crashed phase's window; errors and lost over
 * both phases and the final read-back of every block).
 */
#include <bench/bench.h>
#include <bench/crasher.h>
#include <core/log.h>
#include <core/sched.h>
#include <core/time.h>
#include <domain/domain.h>
#include <ktest/shadowed.h>
#include <lib/cmdline.h>
#include <lib/fmt.h>
#include <lib/string.h>
#include <platform/pc/power.h>
#include <test/bdclient/bdclient.h>
#include <test/nvmetest/nvmetest.h>

#define NVME_MS_DEFAULT 2000
#define NVME_MS_MAX	60000
#define CRASH_PHASE_MS	3000
#define CRASH_MS	100
#define MS		1000000UL
#define WAIT_SLACK_NS	(30 * 1000 * MS) /* past a run's length: only stops a hang */

static const char *const mix_names[NvmeMix_COUNT] = {
	[NVM_RANDREAD4K] = "randread4k",
	[NVM_RANDWRITE4K] = "randwrite4k",
	[NVM_SEQREAD128K] = "seqread128k",
	[NVM_SEQWRITE128K] = "seqwrite128k",
};
static const uint64_t mix_bytes[NvmeMix_COUNT] = {
	[NVM_RANDREAD4K] = 4096,
	[NVM_RANDWRITE4K] = 4096,
	[NVM_SEQREAD128K] = 128 * 1024,
	[NVM_SEQWRITE128K] = 128 * 1024,
};

/* A path: the client's image and the device it submits to (NULL: itself). */
struct path {
	const char *name, *client, *device;
};
static const struct path paths[] = {
	{"indomain", "nvme_bench", NULL},
	{"crossing", "nvmetest", "nvme"},
	{"shadow", "nvmetest", "nvme_shadow"},
};
/* bench=nvme_checks: the shadow without its end-to-end checks, with them
 * but no read-back, and as nvme_shadow runs (every write read back). */
static const struct path check_paths[] = {
	{"unchecked", "nvmetest", "nvme_shadow_unchecked"},
	{"sums", "nvmetest", "nvme_shadow_sums"},
	{"checked", "nvmetest", "nvme_shadow"},
};
#define NPATHS(a) (sizeof(a) / sizeof((a)[0]))

/* A value in hundredths as "N.NN": the kernel's printf has no %f. */
static void hundredths(char *out, size_t len, uint64_t v)
{
	fmt_snprintf(out, len, "%lu.%02lu", v / 100, v % 100);
}

static void measure(const struct path *p, long mix, long qd, uint64_t ms)
{
	/* client runs the loop; device is what it submits to (0: itself). */
	struct domain *client = NULL, *device = NULL, *driver = NULL;
	if (!p->device) {
		client = bench_create("nvme", p->client);
	} else {
		device = bench_create("nvme", p->device);
		client = device ? bench_create("nvme", p->client) : NULL;
	}
	long r = client ? domain_call(client, NvmeTest_bench_METHOD,
				      device ? (long)domain_handle(device) : 0, mix, qd, (long)ms)
			: -MAPLE_ESRCH;
	if (r < 0) {
		klog("bench: nvme failure path=%s mix=%s qd=%ld: bench returned %ld", p->name,
		     mix_names[mix], qd, r);
	} else {
		bench_wait_run(client, NvmeTest_result_METHOD, NVB_RUNNING, ms);
		uint64_t ops =
			(uint64_t)domain_call(client, NvmeTest_result_METHOD, NVB_OPS, 0, 0, 0);
		uint64_t ns =
			(uint64_t)domain_call(client, NvmeTest_result_METHOD, NVB_NS, 0, 0, 0);
		long errors = domain_call(client, NvmeTest_result_METHOD, NVB_ERRORS, 0, 0, 0);
		char iops[32], mbps[32];
		/* MB/s in 10^6 bytes: bytes * 1000 / ns. */
		hundredths(iops, sizeof iops, ns ? ops * 100 * 1000000000ull / ns : 0);
		hundredths(mbps, sizeof mbps, ns ? ops * mix_bytes[mix] * 100 * 1000 / ns : 0);
		if (errors)
			klog("bench: nvme failure path=%s mix=%s qd=%ld: %ld submits did not "
			     "fully succeed",
			     p->name, mix_names[mix], qd, errors);
		klog("bench: nvme path=%s mix=%s qd=%ld ops=%lu ns=%lu iops=%s mbps=%s", p->name,
		     mix_names[mix], qd, ops, ns, iops, mbps);
	}
	bench_destroy("nvme", client);
	if (p->device && strcmp(p->device, "nvme"))
		driver = domain_get_by_name("nvme", NULL); /* the shadow's driver */
	bench_destroy("nvme", device);
	if (driver) {
		uint64_t h = domain_handle(driver);
		domain_put(driver);
		char err[128];
		domain_destroy(h, err, sizeof err); /* gone with its shadow already, mostly */
	}
}

/* Every mix at queue depth 1 and 32 through each of n paths in turn (in
 * reverse order if rev), then `bench: nvme done` and power off. */
static void run_paths(const char *cmdline, const struct path *ps, unsigned n, bool rev)
{
	uint64_t ms = NVME_MS_DEFAULT;
	if (cmdline_get_u64(cmdline, "nvme_ms", &ms) && (ms == 0 || ms > NVME_MS_MAX)) {
		klog("bench: nvme nvme_ms=%lu out of range (1 to %u); using %u", ms, NVME_MS_MAX,
		     NVME_MS_DEFAULT);
		ms = NVME_MS_DEFAULT;
	}
	for (long mix = 0; mix < NvmeMix_COUNT; mix++)
		for (long qd = 1; qd <= 32; qd += 31)
			for (unsigned i = 0; i < n; i++)
				measure(&ps[rev ? n - 1 - i : i], mix, qd, ms);
	klog("bench: nvme done");
	power_off();
}

void bench_nvme_thread(void *arg)
{
	run_paths(arg, paths, NPATHS(paths), false);
}

/* bench=nvme_checks: what the shadow's end-to-end checks cost, each
 * measurement of the three check_paths one after another so that drift hits
 * all alike; `nvme_rev=1` takes them in reverse, so that boots alternate
 * which goes first (bench/nvme-checks). */
void bench_nvme_checks_thread(void *arg)
{
	uint64_t rev = 0;
	cmdline_get_u64(arg, "nvme_rev", &rev);
	run_paths(arg, check_paths, NPATHS(check_paths), rev != 0);
}

/* Requests done per 10 ms bin of the crashed phase, and in its window. */
struct timeline {
	long last, first, at_stop;
	bool stopped;
	uint64_t stop_ms;
};

static void sample(void *ctx, uint64_t t_ms, long ops, bool struck)
{
	struct timeline *tl = ctx;
	if (tl->stopped)
		return; /* the read-back after the window: not the workload's rate */
	if (tl->last < 0)
		tl->first = tl->last = ops;
	klog("bench: nvme series t_ms=%lu ops=%ld crash=%d", t_ms, ops - tl->last, struck);
	tl->last = ops;
	if (t_ms >= tl->stop_ms) {
		tl->at_stop = ops;
		tl->stopped = true;
	}
}

/* One phase of the verified workload: requests done in its window. */
static long phase(struct domain *client, struct domain *shadow, uint64_t crash_ms,
		  uint64_t *crashes)
{
	long r = domain_call(client, BdClient_start_METHOD, 1L << 40, 50,
			     (long)domain_handle(shadow), 0);
	if (r < 0) {
		klog("bench: nvme crash failed: bdclient.start returned %ld", r);
		return -1;
	}
	/* The window opens once the client has formatted (written every block
	 * once), so both phases time the same random mix. */
	uint64_t deadline = time_ns() + WAIT_SLACK_NS;
	while (shadowed_stat(client, BDC_OPS) < BDC_BLOCKS && time_ns() < deadline)
		thread_sleep_ns(MS);
	struct timeline tl = {.last = -1, .stop_ms = CRASH_PHASE_MS};
	const struct bench_crasher c = {.driver = "nvme",
					.crash_ms = crash_ms,
					.stop_ns = time_ns() + CRASH_PHASE_MS * MS,
					.tick = crash_ms ? sample : NULL,
					.ctx = &tl};
	long before = shadowed_stat(client, BDC_OPS);
	if (!crash_ms) {
		thread_sleep_ns(CRASH_PHASE_MS * MS);
		long after = shadowed_stat(client, BDC_OPS);
		*crashes += bench_crash_while_running(client, &c); /* stops it; no strike */
		return after - before;
	}
	*crashes += bench_crash_while_running(client, &c);
	return (tl.stopped ? tl.at_stop : tl.last) - tl.first;
}

void bench_nvme_crash_thread(void *arg)
{
	(void)arg;
	struct domain *shadow = bench_need("nvme_crash", "nvme_shadow");
	struct domain *client = shadow ? bench_need("nvme_crash", "bdclient") : NULL;
	if (client) {
		uint64_t crashes = 0;
		long calm = phase(client, shadow, 0, &crashes);
		/* bdclient's counters start over with each workload. */
		long errors = shadowed_stat(client, BDC_ERRORS),
		     lost = shadowed_stat(client, BDC_LOST);
		long ops = calm >= 0 ? phase(client, shadow, CRASH_MS, &crashes) : -1;
		if (ops >= 0)
			klog("bench: nvme crash ops=%ld crashes=%lu errors=%ld lost=%ld "
			     "calm_ops=%ld",
			     ops, crashes, errors + shadowed_stat(client, BDC_ERRORS),
			     lost + shadowed_stat(client, BDC_LOST), calm);
	}
	klog("bench: nvme done");
	power_off();
}
