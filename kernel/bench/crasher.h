/*
 * Crashing a driver under a running client, for the benchmarks that measure
 * recovery (kernel/bench/recovery.c for membdev, kernel/bench/nvme.c for
 * nvme): the faults of ktest/driver_faults.h in turn, each on an instance
 * that has served, at most one every crash_ms.
 */
#ifndef BENCH_CRASHER_H
#define BENCH_CRASHER_H

#include <stdbool.h>
#include <stdint.h>

struct domain;

struct bench_crasher {
	const char *driver; /* the driver's image: its current instance is struck */
	uint64_t crash_ms;  /* between strikes; 0: never strike */
	uint64_t stop_ns;   /* ask the client to stop then; 0: never */
	/* Each optional. seen/served: a new instance seen running, seen
	 * serving (late by up to one look). tick: every look, with the
	 * client's completed requests so far and whether a strike was made
	 * since the last look. */
	void (*seen)(uint64_t handle);
	void (*served)(uint64_t handle);
	void (*tick)(void *ctx, uint64_t t_ms, long ops, bool struck);
	void *ctx;
	/* The client, when it is not bdclient (NULL: bdclient's): whether its
	 * workload runs, its completed requests, and asking it to stop; and
	 * the driver's method counting requests done (0: BlockDevice.stats),
	 * for driver_served. */
	long (*running)(struct domain *client);
	long (*ops)(struct domain *client);
	void (*stop)(struct domain *client);
	uint64_t progress;
};

#define BENCH_TICK_NS 10000000UL /* between looks */

/*
 * While `client` (bdclient unless c says otherwise) runs a workload, strike c->driver every
 * c->crash_ms, each time on an instance that has served (driver_served: a
 * request done after the one it was retrying), never one still starting or
 * struck already. Returns when the workload has ended: how many strikes
 * took (the instance was gone at the next look).
 */
uint64_t bench_crash_while_running(struct domain *client, const struct bench_crasher *c);

#endif
