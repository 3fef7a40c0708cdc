/*
 * The call watchdog hosted (watchdog.c): the VM's deadline on every call into
 * a domain (kernel/domain/watchdog_rule.h), judged by a runtime thread and
 * enforced by an asynchronous signal at the domain thread, so the callee
 * fails with MAPLE_ETIMEDOUT and the thread unwinds as from a fault.
 */
#ifndef HOSTED_WATCHDOG_H
#define HOSTED_WATCHDOG_H

#include <domain/watchdog_rule.h>

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define HWATCH_DEFAULT_MS 1000 /* the VM's default budget (watchdog_ms=) */

/* The watchdog's signal, aimed at a thread slot's thread (tgkill). Blocked
 * while the runtime runs there, open while domain or gate code runs (entry.c).
 * A standard signal: sent again every period while a call is overdue, it
 * stays one pending signal. Nothing else in the runtime uses it. */
#define HWATCH_SIGNAL SIGURG

/* Start the watchdog thread with a budget of ms per call (0: off), once,
 * after runtime_start. 0, or -1 with why. */
int hwatch_start(uint64_t ms, char *why, size_t whylen);

/* Set the budget in ms (0: off); returns the old one. */
uint64_t hwatch_set_budget_ms(uint64_t ms);

/* Aim HWATCH_SIGNAL at call c of thread slot `slot`'s thread, to be judged
 * with a budget of ms: what the watchdog thread does for a slot's overdue
 * call (tests aim it at a call that has returned, with the budget 0 so that
 * the watchdog thread aims at nothing: one thread aims at a time). 0, or -1
 * when the watchdog does not run, no thread has had the slot, or tgkill
 * failed. */
int hwatch_aim(unsigned slot, const struct watchdog_call *c, uint64_t ms);

/* What the handler of HWATCH_SIGNAL does (hwatch_judge's answer). */
enum hwatch_verdict {
	HWATCH_GO_ON,  /* not the aimed call, or not overdue: resume the thread */
	HWATCH_LATER,  /* its callee failed; in a raised pass: resume, unwind later */
	HWATCH_UNWIND, /* its callee failed: unwind now, as from a fault */
};

/* From the handler of HWATCH_SIGNAL (entry.c), on a thread that runs domain
 * or gate code: in_gate, whether it was stopped in the gate page; raised,
 * whether it held the gate's rights. Fails the callee of the call its own
 * slot's signal was aimed at, if that call is still the innermost on its
 * slot and overdue (the reason in why). Async-signal context. */
enum hwatch_verdict hwatch_judge(int in_gate, int raised, char *why, size_t whylen);

/* SYS_SLEEP_NS inside a call (the VM's watchdog_bound_sleep_ns): how long
 * a sleep of ns may last on this thread, no longer than just past its
 * innermost call's deadline; *bounded says it was cut there (the callee
 * is then overdue when it wakes, and fails: syscalls.c). */
uint64_t hwatch_bound_sleep_ns(uint64_t ns, int *bounded);

/* SYS_SLEEP_NS's end at a bound (syscalls.c), as the VM's tick on waking:
 * fail this thread's innermost call's callee if that call is overdue (its
 * errno MAPLE_ETIMEDOUT, the VM's line), with the reason in why. */
void hwatch_fail_overdue(char *why, size_t whylen);

#endif
