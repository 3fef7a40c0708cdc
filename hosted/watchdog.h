/*
 * The call watchdog hosted (watchdog.c): the VM's deadline on every call into
 * a domain (kernel/domain/watchdog_rule.h), enforced by a runtime thread that
 * strikes an overdue callee's code pages (inject.c), so the domain thread
 * faults there and the callee fails with MAPLE_ETIMEDOUT.
 */
#ifndef HOSTED_WATCHDOG_H
#define HOSTED_WATCHDOG_H

#include <stddef.h>
#include <stdint.h>

#define HWATCH_DEFAULT_MS 1000 /* the VM's default budget (watchdog_ms=) */

/* Start the watchdog thread with a budget of ms per call (0: off), once,
 * after runtime_start. 0, or -1 with why. Not with the fault campaign,
 * whose strikes share inject.c's one strike. */
int hwatch_start(uint64_t ms, char *why, size_t whylen);

/* Set the budget in ms (0: off); returns the old one. */
uint64_t hwatch_set_budget_ms(uint64_t ms);

/* SYS_SLEEP_NS inside a call (the VM's watchdog_bound_sleep_ns): how long
 * a sleep of ns may last on this thread, no longer than just past its
 * innermost call's deadline; *bounded says it was cut there (the callee
 * is then overdue when it wakes, and fails: syscalls.c). */
uint64_t hwatch_bound_sleep_ns(uint64_t ns, int *bounded);

/* From the fault handler, for an INJECT_TIMEOUT strike: fail the current
 * domain as the VM's watchdog does (its errno MAPLE_ETIMEDOUT, the VM's
 * line), with the reason in why. Async-signal context, domain thread. */
void hwatch_fail_current(char *why, size_t whylen);

#endif
