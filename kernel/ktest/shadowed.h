/*
 * The in-guest harness for bdclient's write-then-verify workload through a
 * BlockDevice shadow while the driver behind it is crashed, shared by the
 * recovery tests (kernel/ktest/recovery.c) and the chaos tests of driver
 * starts (kernel/ktest/chaos_initfail.c). docs/recovery.md describes both.
 */
#ifndef KTEST_SHADOWED_H
#define KTEST_SHADOWED_H

#include <domain/domain.h>
#include <idl/bdev_methods.h>
#include <ktest/ktest.h>
#include <stdbool.h>
#include <stdint.h>

#define SHADOWED_UNBOUNDED_OPS 100000000 /* the test stops the workload */
#define SHADOWED_WRITE_PERCENT 50
#define SHADOWED_FAULT_WAIT_NS 20000000000ULL  /* a crash and restart; only stops a hang */
#define SHADOWED_RUN_WAIT_NS   300000000000ULL /* the verifying read-back; the same */

/* One of bdclient's counters (test/bdclient/bdclient.h). */
long shadowed_stat(struct domain *client, int which);
/* Stop the workload and wait for its read-back; false if it never ends. */
bool shadowed_finish(struct domain *client);
/* Map ramdisk0 once (through a membdev) so that its frames, the device's
 * for good, exist before a leak count starts; false (t failed) if not. */
bool shadowed_populate_ramdisk(struct ktest_ctx *t);

struct shadowed_run {
	const char *shadow_image; /* the shadow to create */
	const char *driver_image; /* the driver it runs */
	unsigned crashes;	  /* strikes, each fault of driver_fault() in turn */
	/* If set: after crash i of instance `struck`, once the new instance
	 * `now` has served. False stops the run (t has failed). */
	bool (*restarted)(struct ktest_ctx *t, unsigned i, uint64_t struck, uint64_t now);
	/* If set: once the workload has ended clean, before anything is destroyed. */
	void (*ended)(struct ktest_ctx *t, struct domain *shadow);
};

/*
 * bdclient's workload through run->shadow_image. Crash the driver's current
 * instance (looked up by name each time: the shadow replaces it) `crashes`
 * times, each time once the new instance has served (driver_wait_serving),
 * then stop the workload: the client must have seen no error, no wrong
 * block and no unverifiable read, and have checked every block. Then
 * destroy the client, the shadow and the driver.
 */
void shadowed_crash_driver(struct ktest_ctx *t, const struct shadowed_run *run);

#endif
