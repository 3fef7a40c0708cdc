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

/* The watchdog's signal, aimed at the domain thread (tgkill). Blocked while
 * the runtime runs there, open while domain or gate code runs (entry.c).
 * A standard signal: sent again every period while a call is overdue, it
 * stays one pending signal. Nothing else in the runtime uses it. */
#define HWATCH_SIGNAL SIGURG

/* Start the watchdog thread with a budget of ms per call (0: off), once,
 * after runtime_start, from the thread that enters domains. 0, or -1 with
 * why. */
int hwatch_start(uint64_t ms, char *why, size_t whylen);

/* Set the budget in ms (0: off); returns the old one. */
uint64_t hwatch_set_budget_ms(uint64_t ms);

/* Aim HWATCH_SIGNAL at call c of the domain thread, to be judged with a
 * budget of ms: what the watchdog thread does for an overdue call (tests aim
 * it at a call that has returned, with the budget 0 so that the watchdog
 * thread aims at nothing: one thread aims at a time). 0, or -1 when the
 * watchdog does not run or tgkill failed. */
int hwatch_aim(const struct watchdog_call *c, uint64_t ms);

/* What the handler of HWATCH_SIGNAL does (hwatch_judge's answer). */
enum hwatch_verdict {
	HWATCH_GO_ON,  /* not the aimed call, or not overdue: resume the thread */
	HWATCH_LATER,  /* its callee failed; in a raised pass: resume, unwind later */
	HWATCH_UNWIND, /* its callee failed: unwind now, as from a fault */
};

/* From the handler of HWATCH_SIGNAL (entry.c), on the domain thread, which
 * runs domain or gate code: in_gate, whether it was stopped in the gate
 * page; raised, whether it held the gate's rights. Fails the aimed call's
 * callee if that call is still the innermost and overdue (the reason in
 * why). Async-signal context. */
enum hwatch_verdict hwatch_judge(int in_gate, int raised, char *why, size_t whylen);

#endif
