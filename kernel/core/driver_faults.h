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
 * Make the driver with this handle fail: arm a CPU fault for the next
 * thread that returns to it, or kill it now. False if it is not the
 * running instance any more. The caller must be the only one that makes it
 * fail, which keeps the domain from going away under us.
 */
bool driver_strike(uint64_t handle, int fault);

/* Whether the running instance h has done work: its method `progress`,
 * which must return a count of work done, returns more than 0. */
bool driver_serving(uint64_t h, uint64_t progress);

/*
 * Wait (sleeping) until a running `name` other than `old` serves (as
 * driver_serving says): its handle, or 0 once time_ns() passes
 * deadline_ns. Striking only drivers that serve keeps crashes out of a
 * driver's start (its domain_main), where a crash fails the shadow's
 * create, which the generated shadow reports instead of retrying.
 */
uint64_t driver_wait_serving(const char *name, uint64_t old, uint64_t progress,
			     uint64_t deadline_ns);

#endif
