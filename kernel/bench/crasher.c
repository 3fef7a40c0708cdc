/*
 * Crashing a driver under a running client (bench/crasher.h). Moved out of
 * kernel/bench/recovery.c so that bench=nvme_crash strikes the NVMe driver
 * with the very same injection as bench=recovery strikes membdev, and
 * bench=net_crash strikes virtio-net behind netbench (its own counters).
 */
#include <bench/crasher.h>
#include <core/sched.h>
#include <core/time.h>
#include <domain/domain.h>
#include <idl/bdev_methods.h>
#include <ktest/driver_faults.h>
#include <ktest/shadowed.h>
#include <test/bdclient/bdclient.h>

#define MS 1000000UL

static long bdc_running(struct domain *client)
{
	return shadowed_stat(client, BDC_RUNNING);
}

static long bdc_ops(struct domain *client)
{
	return shadowed_stat(client, BDC_OPS);
}

static void bdc_stop(struct domain *client)
{
	domain_call(client, BdClient_stop_METHOD, 0, 0, 0, 0);
}

uint64_t bench_crash_while_running(struct domain *client, const struct bench_crasher *c)
{
	/* Across calls, as one benchmark's phases follow each other: an
	 * instance seen serving in the last phase may be struck at once. */
	static unsigned fault;
	static uint64_t seen, served; /* the last instances seen, and seen serving */
	uint64_t taken = 0, armed = 0, start = time_ns(), next = start + c->crash_ms * MS;
	uint64_t stop_ns = c->stop_ns;
	bool struck = false;
	struct driver_watch watch = {0};
	long (*running)(struct domain *) = c->running ? c->running : bdc_running;
	long (*ops)(struct domain *) = c->ops ? c->ops : bdc_ops;
	void (*stop)(struct domain *) = c->stop ? c->stop : bdc_stop;
	uint64_t progress = c->progress ? c->progress : BlockDevice_stats_METHOD;
	while (running(client) == 1) {
		thread_sleep_ns(BENCH_TICK_NS);
		uint64_t now = time_ns(), h = driver_current(c->driver);
		if (h && h != seen) {
			seen = h;
			if (c->seen)
				c->seen(h);
		}
		if (h && h != served && driver_served(&watch, h, progress)) {
			served = h;
			if (c->served)
				c->served(h);
		}
		if (c->tick) {
			c->tick(c->ctx, (now - start) / MS, ops(client), struck);
			struck = false;
		}
		if (stop_ns && now >= stop_ns) {
			stop(client);
			stop_ns = 0;
		}
		if (armed && h != armed) {
			taken++;
			armed = 0;
		}
		if (!c->crash_ms || armed || now < next || !h || h != served)
			continue;
		if (driver_strike(h, driver_fault(fault++))) {
			armed = h;
			struck = true;
		}
		next = next + c->crash_ms * MS > now ? next + c->crash_ms * MS
						     : now + c->crash_ms * MS;
	}
	return taken + (armed && driver_current(c->driver) != armed);
}
