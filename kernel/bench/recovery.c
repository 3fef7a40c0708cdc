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
 * completed requests sampled every BENCH_TICK_NS,
 *
 *     bench: recovery series t_ms=1230 ops=102400 crash=1
 *
 * (crash=1 on the sample where a strike was made), then a verified workload
 * under the same crashes (errors, wrong blocks). Meanwhile it stamps each
 * restart's stages into a ring in memory: the kernel's domain events of
 * membdev (failed, destroyed, created, ramdisk0 mapped; domain/observer.h)
 * and, at the bench thread's looks, a new instance seen running and its
 * first request served. After the measured phases it prints the ring,
 *
 *     bench: recovery event kind=failed id=5 gen=12 ns=41230017
 *
 * and what one COM1 line costs (serial_cost), and powers off. The host
 * script times each restart from those stamps, so no COM1 line written
 * during a restart decides its figures.
 */
#include <bench/bench.h>
#include <bench/crasher.h>
#include <core/log.h>
#include <core/sched.h>
#include <core/time.h>
#include <domain/domain.h>
#include <domain/gate_layout.h>
#include <domain/observer.h>
#include <idl/bdev_methods.h>
#include <ktest/shadowed.h>
#include <lib/cmdline.h>
#include <lib/string.h>
#include <platform/pc/power.h>
#include <test/bdclient/bdclient.h>

#define PHASE_MS 3000
#define REPEATS	 5
#define CRASH_MS 100
#define MS	 1000000UL

/*
 * The restart stamps. Written from the contexts domain/observer.h lists
 * (domain_fail's among them), so no lock and no allocation: a slot is
 * claimed with one atomic add, filled, then marked ready (release), and
 * the ring is read after the phases, when a restart still under way may
 * be stamping: a slot not yet ready is left out and counted. A full ring
 * drops further stamps and says how many it dropped.
 */
#define EVENTS 8192

enum { EV_SEEN = DOMAIN_EV_RECLAIM + 1, EV_SERVING };
static const char *const event_names[] = {
	[DOMAIN_EV_FAILED] = "failed",
	[DOMAIN_EV_DESTROYED] = "destroyed",
	[DOMAIN_EV_CREATED] = "created",
	[DOMAIN_EV_MAPPED] = "mapped",
	[EV_SEEN] = "seen",
	[EV_SERVING] = "serving",
};

static struct {
	uint32_t kind, id, gen, ready;
	uint64_t ns;
} events[EVENTS];
static uint32_t events_next;
static bool recording;

static void stamp(uint32_t kind, uint32_t id, uint32_t gen, uint64_t ns)
{
	uint32_t i = __atomic_fetch_add(&events_next, 1, __ATOMIC_RELAXED);
	if (i >= EVENTS)
		return;
	events[i].kind = kind;
	events[i].id = id;
	events[i].gen = gen;
	events[i].ns = ns;
	__atomic_store_n(&events[i].ready, 1, __ATOMIC_RELEASE);
}

/* Only membdev's events, and only while the bench runs: the test image's
 * ktests create and crash domains of their own. */
static void observe(enum domain_event ev, const struct domain *d, uint64_t ns)
{
	if (ev != DOMAIN_EV_RECLAIM && __atomic_load_n(&recording, __ATOMIC_ACQUIRE) &&
	    !strcmp(d->name, "membdev"))
		stamp(ev, d->id, d->gen, ns);
}
DOMAIN_OBSERVER(recovery, observe);

static void stamp_handle(uint32_t kind, uint64_t h)
{
	stamp(kind, h & ((1UL << HANDLE_GEN_SHIFT) - 1), h >> HANDLE_GEN_SHIFT, time_ns());
}

static void print_events(void)
{
	__atomic_store_n(&recording, false, __ATOMIC_RELEASE);
	uint32_t n = __atomic_load_n(&events_next, __ATOMIC_ACQUIRE), unready = 0;
	for (uint32_t i = 0; i < n && i < EVENTS; i++)
		if (!__atomic_load_n(&events[i].ready, __ATOMIC_ACQUIRE))
			unready++;
		else
			klog("bench: recovery event kind=%s id=%u gen=%u ns=%lu",
			     event_names[events[i].kind], events[i].id, events[i].gen,
			     events[i].ns);
	klog("bench: recovery events stamped=%u dropped=%u", (n < EVENTS ? n : EVENTS) - unready,
	     (n > EVENTS ? n - EVENTS : 0) + unready);
}

static void stamp_seen(uint64_t h)
{
	stamp_handle(EV_SEEN, h);
}

static void stamp_serving(uint64_t h)
{
	stamp_handle(EV_SERVING, h);
}

static void print_sample(void *ctx, uint64_t t_ms, long ops, bool struck)
{
	(void)ctx;
	klog("bench: recovery series t_ms=%lu ops=%ld crash=%d", t_ms, ops, struck);
}

/*
 * While the client's workload runs, crash membdev every crash_ms (0: never;
 * bench/crasher.h). Every look stamps a new instance seen running, and asks
 * a new instance whether it has served until it has (stamped too): so those
 * two stamps are late by up to one look. At stop_ns (0: never) ask the
 * client to stop; crashes go on until it has. Returns how many strikes took.
 */
static uint64_t crash_while_running(struct domain *client, uint64_t crash_ms, uint64_t stop_ns,
				    bool series)
{
	const struct bench_crasher c = {.driver = "membdev",
					.crash_ms = crash_ms,
					.stop_ns = stop_ns,
					.seen = stamp_seen,
					.served = stamp_serving,
					.tick = series ? print_sample : NULL};
	return bench_crash_while_running(client, &c);
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
 * What one COM1 line costs. The restart stages are stamped in memory now,
 * but the restart path still logs (domain failed, destroyed, created,
 * ramdisk0 mapped, the shadow's restart, membdev's serving), synchronously,
 * so the restart itself includes writing those lines. Timed after the
 * measured phases: SERIAL_LINES lines of a restart line's
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
		__atomic_store_n(&recording, true, __ATOMIC_RELEASE);
		for (int i = 0; i < REPEATS; i++)
			for (int op = BDC_OP_READ; op <= BDC_OP_WRITE; op++) {
				throughput(client, op, 0);
				throughput(client, op, CRASH_MS);
			}
		timeline(client);
		verified(client);
		print_events();
		serial_cost();
	}
	klog("bench: recovery done");
	power_off();
}
