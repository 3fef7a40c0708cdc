/*
 * The call watchdog hosted (watchdog.h), with the VM's rule
 * (kernel/domain/watchdog_rule.c): the innermost call on each thread's
 * continuation stack (every thread slot taken, gate.c) has a deadline, its start plus the budget;
 * its callee, still inside past it, fails with MAPLE_ETIMEDOUT, the VM's
 * reason and line, and the thread unwinds to the caller (gate.c's
 * hgate_unwind hands the caller -MAPLE_ETIMEDOUT, an upcall fails with the
 * reason), the failed call's time credited to the callers below.
 *
 * HOW AN OVERDUE CALLEE IS STOPPED. No asynchronous signal: one that lands
 * while the gate holds PKRU_GATE kills the process on Linux before 6.12
 * (docs/platform.md). A thread of the runtime's own, which never enters a
 * domain and holds PKRU 0 (pthread_create copies the runtime's), reads
 * every thread's TRUSTED continuation stack every few ms and strikes the
 * first overdue callee it finds, one strike at a time (inject_strike,
 * kind INJECT_STRIKE_TIMEOUT): its code pages lose execute permission,
 * and the next fetch there by any thread, spinning or not, faults with the callee's rights; the
 * fault handler (entry.c) fails it.
 *
 * WHAT IS KEPT. Only the callee's own code faults: a result that reached
 * the gate in time goes on to the caller, whose code is not struck, and
 * the strike is dropped as soon as the call it was aimed at is no longer
 * the innermost (returned, or calling further: the deeper call is judged
 * by its own deadline). The VM gives a thread in the gate's code one more
 * budget for the same reason; here the gate never faults, so it needs none.
 *
 * WHAT IT CANNOT CATCH: a callee looping outside its own code pages (in
 * the gate page, or in another domain's or the runtime's code it jumped
 * to: fetch is not governed by keys) never fetches a struck page, and
 * holds the domain thread for ever, as before (docs/platform.md).
 */
#define _GNU_SOURCE
#include "watchdog.h"

#include "domains.h"
#include "gate.h"
#include "inject.h"

#include <domain/gate_layout.h>
#include <domain/watchdog_rule.h>
#include <maple/abi.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#define CALIBRATE_NS  20000000ull /* TSC against CLOCK_MONOTONIC over 20 ms */
#define PERIOD_MAX_NS 20000000ull
#define PERIOD_MIN_NS 1000000ull

static uint64_t budget_ms, tsc_per_ms;
static int started;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t hwatch_set_budget_ms(uint64_t ms)
{
	return __atomic_exchange_n(&budget_ms, ms, __ATOMIC_RELAXED);
}

void hwatch_fail_current(char *why, size_t whylen)
{
	struct hosted_domain *d = hgate_current();
	watchdog_reason(why, whylen, __atomic_load_n(&budget_ms, __ATOMIC_RELAXED), "");
	/* MAPLE_ETIMEDOUT only for a domain this failure is the first of, as
	 * the VM's fail_timed_out; its caller hears it (hgate_unwind). */
	if (d && hgate_state(d) == GATE_DOMAIN_RUNNING) {
		d->fail_errno = MAPLE_ETIMEDOUT;
		hdom_fail(d, why);
	}
}

/* Whether two reads name the same call. */
static int same(const struct watchdog_call *a, const struct watchdog_call *b)
{
	return a->callee == b->callee && a->start_tsc == b->start_tsc;
}

/*
 * Strike the callee of call c. The domain thread may end the call,
 * destroy the callee and free it meanwhile, so nothing of the domain is
 * read here: its handle comes from the gate's own table, and if c is
 * still the innermost call after that read, the callee was in a call all
 * along (hdom_destroy refuses a domain with a call in progress), so the
 * handle is its own. inject_strike looks it up and strikes under the lock
 * teardown holds: a callee destroyed after the check is not struck, nor
 * is its successor in the slot.
 */
static int strike(const struct gate_thread_trusted *tt, uint64_t tt_va,
		  const struct watchdog_call *c)
{
	uint64_t h = hgate_slot_handle(c->callee);
	struct watchdog_call again;
	if (!watchdog_innermost_call(tt, tt_va, &again) || !same(c, &again))
		return -1;
	char why[160];
	return inject_strike(h, INJECT_STRIKE_TIMEOUT, why, sizeof why);
}

/* The first thread slot from `from` on whose innermost call is overdue at
 * now: its slot (and the call in *c), or -1. */
static int overdue_slot(unsigned from, uint64_t budget, struct watchdog_call *c)
{
	for (unsigned slot = from; slot < GATE_MAX_THREADS; slot++) {
		uint64_t tt_va;
		const struct gate_thread_trusted *tt = hgate_slot_conts(slot, &tt_va);
		if (tt && watchdog_innermost_call(tt, tt_va, c) &&
		    watchdog_overdue(c, __rdtsc(), budget))
			return (int)slot;
	}
	return -1;
}

static void *watch(void *arg)
{
	(void)arg;
	struct watchdog_call aimed = {0}, c;
	int aimed_slot = -1;
	for (;;) {
		uint64_t ms = __atomic_load_n(&budget_ms, __ATOMIC_RELAXED);
		/* A few checks a budget: a callee fails within about 1/8 of the
		 * budget past its deadline. */
		uint64_t period = ms * 1000000ull / 8;
		period = period < PERIOD_MIN_NS	  ? PERIOD_MIN_NS
			 : period > PERIOD_MAX_NS ? PERIOD_MAX_NS
						  : period;
		struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)period};
		nanosleep(&ts, NULL);
		uint64_t budget = ms > UINT64_MAX / tsc_per_ms ? UINT64_MAX : ms * tsc_per_ms;
		if (aimed_slot >= 0 &&
		    (overdue_slot((unsigned)aimed_slot, budget, &c) != aimed_slot ||
		     !same(&c, &aimed))) {
			/* The call struck is over, or is not the innermost: give
			 * its callee's code back (a strike taken is gone). */
			inject_cancel();
			aimed_slot = -1;
		}
		/* A strike spent without failing the callee (another domain
		 * fetched its code) is armed again while the call is overdue. */
		if (aimed_slot >= 0 && inject_armed())
			continue;
		int slot = aimed_slot >= 0 ? aimed_slot : overdue_slot(0, budget, &c);
		uint64_t tt_va;
		const struct gate_thread_trusted *tt =
			slot < 0 ? NULL : hgate_slot_conts((unsigned)slot, &tt_va);
		if (tt && strike(tt, tt_va, &c) == 0) {
			aimed = c;
			aimed_slot = slot;
		}
	}
	return NULL;
}

uint64_t hwatch_bound_sleep_ns(uint64_t ns, int *bounded)
{
	uint64_t tt_va, ms = __atomic_load_n(&budget_ms, __ATOMIC_RELAXED);
	const struct gate_thread_trusted *tt = hgate_thread_conts(&tt_va);
	struct watchdog_call c;
	*bounded = 0;
	if (!started || !ms || !tt || !watchdog_innermost_call(tt, tt_va, &c))
		return ns;
	uint64_t budget = ms > UINT64_MAX / tsc_per_ms ? UINT64_MAX : ms * tsc_per_ms;
	uint64_t now = __rdtsc(), deadline = c.start_tsc + budget;
	if (deadline < c.start_tsc)
		return ns; /* a deadline beyond the TSC's range: none */
	/* Just past the deadline (whole microseconds, rounded up), so the
	 * call is overdue when the sleeper wakes, as the VM's bound. */
	uint64_t per_us = tsc_per_ms / 1000 ? tsc_per_ms / 1000 : 1;
	uint64_t left_ns =
		now >= deadline ? 0 : ((deadline - now + per_us - 1) / per_us + 1) * 1000;
	if (ns < left_ns)
		return ns;
	*bounded = 1;
	return left_ns;
}

int hwatch_start(uint64_t ms, char *why, size_t whylen)
{
	if (started) {
		snprintf(why, whylen, "the watchdog runs already");
		return -1;
	}
	uint64_t t0 = now_ns(), c0 = __rdtsc(), t1;
	while ((t1 = now_ns()) - t0 < CALIBRATE_NS)
		;
	tsc_per_ms = (__rdtsc() - c0) * 1000000ull / (t1 - t0);
	if (!tsc_per_ms) {
		snprintf(why, whylen, "cannot calibrate the TSC against CLOCK_MONOTONIC");
		return -1;
	}
	hwatch_set_budget_ms(ms);
	/* The thread takes no signal: the domain thread's are synchronous,
	 * and a stray one must not run a handler here. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t t;
	int rc = pthread_create(&t, NULL, watch, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		snprintf(why, whylen, "cannot start the watchdog thread: %s", strerror(rc));
		return -1;
	}
	pthread_detach(t);
	started = 1;
	return 0;
}
