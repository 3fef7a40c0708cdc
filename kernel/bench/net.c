/*
 * The in-guest half of bench/net (helper script: bench/net).
 *
 * bench=net: packets per second through a Net driver, for each job of
 * `net_jobs=DRIVER:DIR,...` (default NET_JOBS_DEFAULT; DRIVER virtio_net,
 * nullnet, igb or ixgbe, DIR tx or rx), with frames of 64 bytes on the wire (60 without
 * FCS, as pktgen's pkt_size 60) and 1514 (the MTU frame without FCS), in
 * batches of 1 and 32, each through three paths interleaved per
 * measurement so that drift in the host's speed hits all three alike: the
 * client inside the driver's domain (virtio_net_bench, nullnet_bench,
 * igb_bench, ixgbe_bench), one crossing (netbench calling the driver) and
 * through the shadow (netbench calling net_shadow, nullnet_shadow,
 * igb_shadow or ixgbe_shadow). A NIC (net0, igb0, ixgbe0) is granted to one domain at a time, so
 * each measurement creates its domains and destroys them after.
 *
 * RX on a NIC (virtio-net, igb, ixgbe) needs a source: the host script gives the
 * NIC a netdev that loops every frame back (a UDP socket sending to its own address,
 * as the net test group does) and the loop sends a batch of frames with
 * each batch of empty buffers (NBD_ECHO); what is counted is frames
 * received. nullnet fills every RX buffer at once with a 60-byte frame,
 * whatever the size, so nullnet rx is measured at size 64 only.
 *
 * One line per measurement, then `bench: net done`:
 *
 *     bench: net driver=D path=P dir=tx|rx size=S batch=B pkts=N ns=T pps=X
 *
 * (pps in hundredths, "N.NN"). `net_ms=N` sets each measurement's length
 * (default NET_MS_DEFAULT). A measurement that went wrong says so on a line
 * of its own: `bench: net failure driver=D path=P dir=R size=S batch=B: why`.
 *
 * bench=net_crash: 64-byte TX at batch 32 from netbench through net_shadow
 * to virtio-net, CRASH_PHASE_MS without crashes, then as long again while
 * the driver is struck every CRASH_MS with the injection bench=recovery and
 * bench=nvme_crash use (bench/crasher.h), printing the frames sent in each
 * 10 ms bin of the crashed phase and a summary:
 *
 *     bench: net series t_ms=T pkts=N crash=0|1
 *     bench: net crash pkts=N ns=T strikes=S crashes=C lost=L errors=E calm_pkts=N calm_ns=T
 *
 * (strikes: crashes the kernel made; crashes: calls the client saw end in
 * one; lost: buffers that did not come back to the client after a crash).
 */
#include <bench/bench.h>
#include <bench/crasher.h>
#include <core/log.h>
#include <core/sched.h>
#include <core/time.h>
#include <domain/domain.h>
#include <idl/net_methods.h>
#include <idl/netbench_methods.h>
#include <lib/cmdline.h>
#include <lib/fmt.h>
#include <lib/string.h>
#include <platform/pc/power.h>

#define NET_MS_DEFAULT	 1000
#define NET_MS_MAX	 60000
#define NET_JOBS_DEFAULT "virtio_net:tx,nullnet:tx,nullnet:rx"
#define MS		 1000000UL
#define CRASH_PHASE_MS	 3000
#define CRASH_MS	 100

enum path { INDOMAIN, CROSSING, SHADOW, PATHS };
static const char *const path_names[PATHS] = {"indomain", "crossing", "shadow"};

/* Each driver's images (with the client inside, the driver, its shadow)
 * and how its RX is fed: NBD_ECHO for a NIC, whose netdev the host script
 * makes loop every frame back; NBD_RX for nullnet, which fills every RX
 * buffer at once with a 60-byte frame (so its RX is measured at 64 only). */
static const struct net_driver {
	const char *name, *images[PATHS];
	long rx;
} drivers[] = {
	{"virtio_net", {"virtio_net_bench", "virtio_net", "net_shadow"}, NBD_ECHO},
	{"nullnet", {"nullnet_bench", "nullnet", "nullnet_shadow"}, NBD_RX},
	{"igb", {"igb_bench", "igb", "igb_shadow"}, NBD_ECHO},
	{"ixgbe", {"ixgbe_bench", "ixgbe", "ixgbe_shadow"}, NBD_ECHO},
};

/* One measurement's coordinates, for its lines. */
struct point {
	const struct net_driver *drv;
	enum path path;
	bool rx;
	long size, batch;
};

static void failure(const struct point *pt, const char *why, long r)
{
	klog("bench: net failure driver=%s path=%s dir=%s size=%ld batch=%ld: %s %ld",
	     pt->drv->name, path_names[pt->path], pt->rx ? "rx" : "tx", pt->size, pt->batch, why,
	     r);
}

/* Frame length without FCS of a size on the wire (64: the 60-byte minimum). */
static long frame_len(long size)
{
	return size == 64 ? 60 : size;
}

static void measure(const struct point *pt, uint64_t ms)
{
	struct domain *client = NULL, *device = NULL;
	if (pt->path == INDOMAIN) {
		client = bench_create("net", pt->drv->images[INDOMAIN]);
	} else {
		device = bench_create("net", pt->drv->images[pt->path]);
		client = device ? bench_create("net", "netbench") : NULL;
	}
	long dir = pt->rx ? pt->drv->rx : NBD_TX;
	long r = client ? domain_call(client, NetBench_frame_METHOD, frame_len(pt->size), 0, 0, 0)
			: -MAPLE_ESRCH;
	if (r >= 0)
		r = domain_call(client, NetBench_bench_METHOD,
				device ? (long)domain_handle(device) : 0, dir, pt->batch, (long)ms);
	if (r < 0) {
		failure(pt, "bench returned", r);
	} else {
		bench_wait_run(client, NetBench_result_METHOD, NBS_RUNNING, ms);
		uint64_t pkts =
			(uint64_t)domain_call(client, NetBench_result_METHOD, NBS_PKTS, 0, 0, 0);
		uint64_t ns =
			(uint64_t)domain_call(client, NetBench_result_METHOD, NBS_NS, 0, 0, 0);
		long errors = domain_call(client, NetBench_result_METHOD, NBS_ERRORS, 0, 0, 0);
		uint64_t pps = ns ? pkts * 100 * 1000000000ull / ns : 0; /* hundredths */
		if (errors)
			failure(pt, "calls failed or batches refused:", errors);
		klog("bench: net driver=%s path=%s dir=%s size=%ld batch=%ld pkts=%lu ns=%lu "
		     "pps=%lu.%02lu",
		     pt->drv->name, path_names[pt->path], pt->rx ? "rx" : "tx", pt->size, pt->batch,
		     pkts, ns, pps / 100, pps % 100);
	}
	struct domain *driver = NULL;
	bench_destroy("net", client);
	if (pt->path == SHADOW) /* the shadow's driver */
		driver = domain_get_by_name(pt->drv->images[CROSSING], NULL);
	bench_destroy("net", device);
	if (driver) {
		uint64_t h = domain_handle(driver);
		domain_put(driver);
		char err[128];
		domain_destroy(h, err, sizeof err); /* gone with its shadow already, mostly */
	}
}

/* One `DRIVER:DIR` job of net_jobs: every size, batch and path. */
static void job(const char *spec, size_t len, uint64_t ms)
{
	size_t nlen = 0;
	while (nlen < len && spec[nlen] != ':')
		nlen++;
	const char *colon = nlen < len ? spec + nlen : NULL;
	const char *dir = colon ? colon + 1 : "";
	size_t dlen = colon ? len - nlen - 1 : 0;
	bool rx = dlen == 2 && !memcmp(dir, "rx", 2);
	const struct net_driver *drv = NULL;
	for (unsigned i = 0; i < sizeof drivers / sizeof drivers[0]; i++)
		if (strlen(drivers[i].name) == nlen && !memcmp(drivers[i].name, spec, nlen))
			drv = &drivers[i];
	if (!drv || (!rx && !(dlen == 2 && !memcmp(dir, "tx", 2)))) {
		klog("bench: net failure job '%.*s': want DRIVER:tx or DRIVER:rx, DRIVER "
		     "virtio_net, nullnet, igb or ixgbe",
		     (int)len, spec);
		return;
	}
	static const long sizes[] = {64, 1514}, batches[] = {1, 32};
	for (unsigned s = 0; s < 2; s++) {
		if (rx && drv->rx == NBD_RX && sizes[s] != 64)
			continue; /* nullnet's RX frames are 60 bytes whatever the buffer */
		for (unsigned b = 0; b < 2; b++)
			for (int p = 0; p < PATHS; p++) {
				const struct point pt = {drv, (enum path)p, rx, sizes[s],
							 batches[b]};
				measure(&pt, ms);
			}
	}
}

void bench_net_thread(void *arg)
{
	const char *cmdline = arg;
	uint64_t ms = NET_MS_DEFAULT;
	if (cmdline_get_u64(cmdline, "net_ms", &ms) && (ms == 0 || ms > NET_MS_MAX)) {
		klog("bench: net net_ms=%lu out of range (1 to %u); using %u", ms, NET_MS_MAX,
		     NET_MS_DEFAULT);
		ms = NET_MS_DEFAULT;
	}
	char jobs[128];
	if (!cmdline_get(cmdline, "net_jobs", jobs, sizeof jobs))
		strlcpy(jobs, NET_JOBS_DEFAULT, sizeof jobs);
	for (const char *j = jobs; *j;) {
		const char *comma = strchr(j, ',');
		size_t len = comma ? (size_t)(comma - j) : strlen(j);
		job(j, len, ms);
		j += len + (comma != NULL);
	}
	klog("bench: net done");
	power_off();
}

static long nb_stat(struct domain *client, int which)
{
	return domain_call(client, NetBench_result_METHOD, which, 0, 0, 0);
}

static long nb_running(struct domain *client)
{
	return nb_stat(client, NBS_RUNNING);
}

static long nb_pkts(struct domain *client)
{
	return nb_stat(client, NBS_PKTS);
}

/* The run ends by itself after its ms; the crasher never asks it to stop. */
static void nb_stop(struct domain *client)
{
	(void)client;
}

static void sample(void *ctx, uint64_t t_ms, long pkts, bool struck)
{
	long *last = ctx;
	klog("bench: net series t_ms=%lu pkts=%ld crash=%d", t_ms, pkts - *last, struck);
	*last = pkts;
}

/* One phase: TX through the shadow for CRASH_PHASE_MS, struck every
 * crash_ms (0: never); strikes taken are added to *strikes. */
static bool crash_phase(struct domain *client, struct domain *shadow, uint64_t crash_ms,
			uint64_t *strikes)
{
	long r = domain_call(client, NetBench_frame_METHOD, 60, 0, 0, 0);
	if (r >= 0)
		r = domain_call(client, NetBench_bench_METHOD, (long)domain_handle(shadow), NBD_TX,
				32, CRASH_PHASE_MS);
	if (r < 0) {
		klog("bench: net_crash failed: netbench.bench returned %ld", r);
		return false;
	}
	long last = 0;
	const struct bench_crasher c = {.driver = "virtio_net",
					.crash_ms = crash_ms,
					.tick = crash_ms ? sample : NULL,
					.ctx = &last,
					.running = nb_running,
					.ops = nb_pkts,
					.stop = nb_stop,
					.progress =
						Net_counter_METHOD}; /* counter(0): frames sent */
	*strikes += bench_crash_while_running(client, &c);
	return true;
}

void bench_net_crash_thread(void *arg)
{
	(void)arg;
	struct domain *shadow = bench_need("net_crash", "net_shadow");
	struct domain *client = shadow ? bench_need("net_crash", "netbench") : NULL;
	uint64_t strikes = 0;
	if (client && crash_phase(client, shadow, 0, &strikes)) {
		long calm = nb_stat(client, NBS_PKTS), calm_ns = nb_stat(client, NBS_NS);
		long errors = nb_stat(client, NBS_ERRORS), lost = nb_stat(client, NBS_LOST);
		if (crash_phase(client, shadow, CRASH_MS, &strikes))
			klog("bench: net crash pkts=%ld ns=%ld strikes=%lu crashes=%ld lost=%ld "
			     "errors=%ld calm_pkts=%ld calm_ns=%ld",
			     nb_stat(client, NBS_PKTS), nb_stat(client, NBS_NS), strikes,
			     nb_stat(client, NBS_CRASHES), lost + nb_stat(client, NBS_LOST),
			     errors + nb_stat(client, NBS_ERRORS), calm, calm_ns);
	}
	klog("bench: net done");
	power_off();
}
