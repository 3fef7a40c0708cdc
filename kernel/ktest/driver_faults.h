/*
 * Crashing a restartable driver on purpose, for the recovery test and
 * benchmark: find the running instance of a driver domain by name (a shadow
 * replaces it after every crash), make it fail with one of the faults
 * `inject` knows or kill it, and wait for the replacement.
 */
#ifndef CORE_DRIVER_FAULTS_H
#define CORE_DRIVER_FAULTS_H

#include <stdbool.h>
#include <stdint.h>

#define DRIVER_FAULTS 6 /* pf gp ud de pk, then kill */

/* The i-th fault of the cycle (i taken modulo DRIVER_FAULTS), and its name. */
int driver_fault(unsigned i);
const char *driver_fault_name(int fault);

/* The handle of the running domain called name, or 0. */
uint64_t driver_current(const char *name);

/*
 * Destroy every domain called name, running or failed: a failed instance
 * whose shadow failed before it could destroy it keeps its device from
 * every later instance (docs/bench-faults.md, finding 10), and
 * driver_current never names it. 0; or the first destroy's error, or
 * -MAPLE_EBUSY if instances are still found after a bounded number.
 */
int driver_destroy_all(const char *name);

/*
 * Make the driver with this handle fail: arm a CPU fault for the next
 * thread that returns to it, or kill it now. False if it is not the
 * running instance any more. The caller must be the only one that makes it
 * fail, which keeps the domain from going away under us.
 */
bool driver_strike(uint64_t handle, int fault);

/*
 * When a new instance may be struck. Its progress count (its method
 * `progress`, a count of requests done) rises when a request's work is
 * done, while that request may still be inside the driver: if that is the
 * request a shadow is retrying after the last crash, a strike now crashes
 * the same request again, and a run of such strikes uses up the shadow's
 * retries and reaches the client (docs/recovery.md, "Striking a driver").
 * So an instance counts as served only once its count has risen again
 * after it was first seen above 0: with one client thread, the request
 * that did the first work has then returned.
 */
struct driver_watch {
	uint64_t h; /* the instance watched */
	long first; /* its progress count when first seen above 0, or 0 */
};

/* Whether h has served, as above; w carries what was seen across looks. */
bool driver_served(struct driver_watch *w, uint64_t h, uint64_t progress);

/*
 * Wait (sleeping) until a running `name` other than `old` has served (as
 * driver_served says): its handle, or 0 once time_ns() passes deadline_ns.
 * Striking only drivers that serve also keeps crashes out of a driver's
 * start (its domain_main).
 */
uint64_t driver_wait_serving(const char *name, uint64_t old, uint64_t progress,
			     uint64_t deadline_ns);

#endif
