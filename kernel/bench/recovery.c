/*
 * The in-guest half of bench/recovery: with `bench=recovery` on the command
 * line the kernel starts bdev_shadow (which starts membdev) and bdclient,
 * and measures bdclient's read and write throughput through the shadow with
 * no crash and with membdev crashed every CRASH_MS (the faults of
 * ktest/driver_faults.h in turn), phases interleaved so that drift in the
 * host's speed hits both alike. It prints one line per phase,
 *
 *     bench: recovery read crash_ms=100 ms=3001 ops=61216 errors=0 crashes=30
 *
 * then a timeline: a write run under the same crashes with the client's
 * completed requests sampled every TICK_NS,
 *
 *     bench: recovery series t_ms=1230 ops=102400 crash=1
 *
 * (crash=1 on the sample where a strike was made), then a verified workload
 * under the same crashes (errors, wrong blocks), then what one COM1 line
 * costs (serial_cost), and powers off. The host script pairs the kernel's
 * crash lines with membdev's "serving" lines on COM1 for the time from a
 * crash to serving.
 */
#include <bench/bench.h>
#include <core/log.h>
#include <core/sched.h>
#include <core/time.h>
#include <domain/domain.h>
#include <idl/bdev_methods.h>
#include <ktest/driver_faults.h>
#include <ktest/shadowed.h>
#include <lib/cmdline.h>
#include <lib/string.h>
#include <platform/pc/power.h>
#include <test/bdclient/bdclient.h>

#define PHASE_MS 3000
#define REPEATS	 5
#define CRASH_MS 100
#define TICK_NS	 10000000UL /* the bench thread's look at the clock */
#define MS	 1000000UL

/*
 * While the client's workload runs, crash membdev every crash_ms (0: never):
 * strike the running instance once it has served (driver_served: a request
 * done after the one it was retrying), never one still starting or struck
 * already. At stop_ns (0: never) ask the client to stop; crashes go
 * on until it has. Returns how many strikes took (the instance was gone at
 * the next look).
 */
static uint64_t crash_while_running(struct domain *client, uint64_t crash_ms, uint64_t stop_ns,
				    bool series)
{
	static unsigned fault;
	uint64_t taken = 0, armed = 0, start = time_ns(), next = start + crash_ms * MS;
	bool struck = false;
	struct driver_watch watch = {0};
	while (shadowed_stat(client, BDC_RUNNING) == 1) {
		thread_sleep_ns(TICK_NS);
		uint64_t now = time_ns(), h = driver_current("membdev");
		if (series) {
			klog("bench: recovery series t_ms=%lu ops=%ld crash=%d", (now - start) / MS,
			     shadowed_stat(client, BDC_OPS), struck);
			struck = false;
		}
		if (stop_ns && now >= stop_ns) {
			domain_call(client, BdClient_stop_METHOD, 0, 0, 0, 0);
			stop_ns = 0;
		}
		if (armed && h != armed) {
			taken++;
			armed = 0;
		}
		if (!crash_ms || armed || now < next || !h ||
		    !driver_served(&watch, h, BlockDevice_stats_METHOD))
			continue;
		if (driver_strike(h, driver_fault(fault++))) {
			armed = h;
			struck = true;
		}
		next = next + crash_ms * MS > now ? next + crash_ms * MS : now + crash_ms * MS;
	}
	return taken + (armed && driver_current("membdev") != armed);
}

static void throughput(struct domain *client, int op, uint64_t crash_ms)
{
	const char *name = op == BDC_OP_READ ? "read" : "write";
	long r = domain_call(client, BdClient_throughput_METHOD, op, PHASE_MS, 0, 0);
	if (r < 0) {
		klog("bench: recovery %s failed: bdclient.throughput returned %ld", name, r);
		return;
	}
	uint64_t crashes = crash_while_running(client, crash_ms, 0, false);
	klog("bench: recovery %s crash_ms=%lu ms=%lu ops=%ld errors=%ld crashes=%lu", name,
	     crash_ms, (uint64_t)shadowed_stat(client, BDC_TPUT_NS) / MS,
	     shadowed_stat(client, BDC_TPUT_OPS), shadowed_stat(client, BDC_ERRORS), crashes);
}

/* Throughput over time across crashes, for the host's plot. */
static void timeline(struct domain *client)
{
	long r = domain_call(client, BdClient_throughput_METHOD, BDC_OP_WRITE, PHASE_MS, 0, 0);
	if (r < 0) {
		klog("bench: recovery series failed: bdclient.throughput returned %ld", r);
		return;
	}
	crash_while_running(client, CRASH_MS, 0, true);
}

/* The data contract under the same crashes: half writes, every read checked,
 * then every block read back. */
static void verified(struct domain *client)
{
	long r = domain_call(client, BdClient_start_METHOD, 1L << 40, 50, 0, 0);
	if (r < 0) {
		klog("bench: recovery verify failed: bdclient.start returned %ld", r);
		return;
	}
	uint64_t crashes = crash_while_running(client, CRASH_MS, time_ns() + PHASE_MS * MS, false);
	klog("bench: recovery verify crash_ms=%u ops=%ld errors=%ld lost=%ld verified=%ld "
	     "crashes=%lu",
	     CRASH_MS, shadowed_stat(client, BDC_OPS), shadowed_stat(client, BDC_ERRORS),
	     shadowed_stat(client, BDC_LOST), shadowed_stat(client, BDC_VERIFIED), crashes);
}

/*
 * What one COM1 line costs. The restart stages are the stamps of log lines
 * that the restart path writes to COM1 synchronously (domain failed,
 * destroyed, created, ramdisk0 mapped, the shadow's restart, membdev's
 * serving), so each stage includes writing the lines before it. Timed
 * after the measured phases: SERIAL_LINES lines of a restart line's
 * length, SERIAL_PAYLOAD characters after the stamp, their mean reported.
 */
#define SERIAL_LINES   16
#define SERIAL_PAYLOAD 64

static void serial_cost(void)
{
	static const char payload[] =
		"bench: recovery serial-probe ...................................";
	_Static_assert(sizeof payload == SERIAL_PAYLOAD + 1,
		       "the probe line is SERIAL_PAYLOAD long");
	uint64_t t0 = time_ns();
	for (int i = 0; i < SERIAL_LINES; i++)
		klog("%s", payload);
	uint64_t ns = time_ns() - t0;
	klog("bench: recovery serial-line lines=%d chars=%d mean_ns=%lu", SERIAL_LINES,
	     SERIAL_PAYLOAD, ns / SERIAL_LINES);
}

void bench_recovery_thread(void *unused)
{
	(void)unused;
	struct domain *client =
		bench_need("recovery", "bdev_shadow") ? bench_need("recovery", "bdclient") : NULL;
	if (client) {
		/* Warm up: size the device, fault in the ramdisk and the caches. */
		domain_call(client, BdClient_throughput_METHOD, BDC_OP_WRITE, PHASE_MS / 4, 0, 0);
		crash_while_running(client, 0, 0, false);
		for (int i = 0; i < REPEATS; i++)
			for (int op = BDC_OP_READ; op <= BDC_OP_WRITE; op++) {
				throughput(client, op, 0);
				throughput(client, op, CRASH_MS);
			}
		timeline(client);
		verified(client);
		serial_cost();
	}
	klog("bench: recovery done");
	power_off();
}
