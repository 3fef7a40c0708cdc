/*
 * The call watchdog hosted (watchdog.h), with the VM's rule
 * (kernel/domain/watchdog_rule.c): the innermost call on each thread's
 * continuation stack (every thread slot taken, gate.c) has a deadline, its
 * stamp (its start, at most a watch period late: watchdog_rule.h) plus the
 * budget; its callee, still inside past it, fails with MAPLE_ETIMEDOUT,
 * the VM's reason and line, and the thread unwinds to the
 * caller (gate.c's hgate_unwind hands the caller -MAPLE_ETIMEDOUT, an
 * upcall fails with the reason), the failed call's time credited to the
 * callers below.
 *
 * WHO JUDGES. A thread of the runtime's own, which never enters a domain
 * and holds PKRU 0 (pthread_create copies the runtime's), reads every
 * thread slot's TRUSTED continuation stack every few ms.
 *
 * HOW AN OVERDUE CALLEE IS STOPPED: an asynchronous signal (HWATCH_SIGNAL,
 * tgkill) aimed at the thread of the slot whose call is overdue, one aim
 * per slot, wherever that thread loops: in the callee's code, the gate
 * page, another domain's or the runtime's code it jumped to, or after a
 * far return to code it made up. The handler (entry.c,
 * on_watchdog) asks hwatch_judge, which decides from trusted state alone,
 * as the VM's tick does, and fails the callee; the thread then unwinds
 * exactly as from a fault. Under keys too: maple-hosted takes keys only
 * from a Linux that delivers a signal whatever rights it interrupts (6.12
 * and later, pkeys.c), onto the runtime's key-0 signal stacks (sigstack.c).
 * Before, the watchdog struck the callee's code pages instead, which
 * reached a callee looping in its own code only.
 */
#define _GNU_SOURCE
#include "watchdog.h"

#include "domains.h"
#include "gate.h"

#include <domain/gate_layout.h>
#include <domain/watchdog_rule.h>
#include <maple/abi.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#define CALIBRATE_NS  20000000ull /* TSC against CLOCK_MONOTONIC over 20 ms */
#define PERIOD_MAX_NS 20000000ull
#define PERIOD_MIN_NS 1000000ull

static uint64_t budget_ms, tsc_per_ms;
static int started;

/*
 * Per thread slot, the call the last signal at its thread was aimed at and
 * the budget it was judged by: the watchdog thread writes a slot's before
 * each signal at that slot's thread, the handler on that thread reads its
 * own slot's (a seqlock: seq is odd while it changes; a read that saw it
 * change is no aim, and the watchdog signals again a period later).
 */
static struct {
	uint64_t seq;
	uint32_t callee;
	uint64_t start_tsc, ms;
} aims[GATE_MAX_THREADS];

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

static uint64_t ticks(uint64_t ms)
{
	return ms > UINT64_MAX / tsc_per_ms ? UINT64_MAX : ms * tsc_per_ms;
}

/* Fail d as the VM's fail_timed_out: MAPLE_ETIMEDOUT only for a domain
 * this failure is the first of; its caller hears it (hgate_unwind). why:
 * the reason d failed with, this one or its first. */
static void fail_timed_out(struct hosted_domain *d, uint64_t ms, char *why, size_t whylen)
{
	watchdog_reason(why, whylen, ms, "");
	if (hgate_state(d) == GATE_DOMAIN_RUNNING) {
		d->fail_errno = MAPLE_ETIMEDOUT;
		hdom_fail(d, why);
	}
	if (d->fail_reason[0])
		snprintf(why, whylen, "%s", d->fail_reason);
}

/* Whether two reads name the same call. */
static int same(const struct watchdog_call *a, const struct watchdog_call *b)
{
	return a->callee == b->callee && a->start_tsc == b->start_tsc;
}

int hwatch_aim(unsigned slot, const struct watchdog_call *c, uint64_t ms)
{
	pid_t tid = hgate_slot_tid(slot); /* 0 for a slot out of range */
	if (!started || !tid)
		return -1;
	uint64_t seq = __atomic_load_n(&aims[slot].seq, __ATOMIC_RELAXED);
	__atomic_store_n(&aims[slot].seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&aims[slot].callee, c->callee, __ATOMIC_RELAXED);
	__atomic_store_n(&aims[slot].start_tsc, c->start_tsc, __ATOMIC_RELAXED);
	__atomic_store_n(&aims[slot].ms, ms, __ATOMIC_RELAXED);
	__atomic_store_n(&aims[slot].seq, seq + 2, __ATOMIC_RELEASE);
	/* The slot's thread may have ended since (ESRCH), or its tid gone to
	 * another thread of this process: that thread judges its own slot's
	 * aim against its own continuations (hwatch_judge), not this one. */
	return (int)syscall(SYS_tgkill, getpid(), tid, HWATCH_SIGNAL);
}

/* Slot `slot`'s aim, whole, or 0. */
static int aimed(unsigned slot, struct watchdog_call *c, uint64_t *ms)
{
	uint64_t seq = __atomic_load_n(&aims[slot].seq, __ATOMIC_ACQUIRE);
	c->callee = __atomic_load_n(&aims[slot].callee, __ATOMIC_RELAXED);
	c->start_tsc = __atomic_load_n(&aims[slot].start_tsc, __ATOMIC_RELAXED);
	*ms = __atomic_load_n(&aims[slot].ms, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return !(seq & 1) && seq && __atomic_load_n(&aims[slot].seq, __ATOMIC_RELAXED) == seq;
}

/*
 * THE INVARIANT (a call that returned in time is not failed, nor another
 * thread's): the handler fails a callee only for the call the signal at
 * its own thread slot was aimed at, and only if that call is, when the
 * handler runs, the innermost on that slot's TRUSTED continuation stack
 * (which no domain can write), and past its deadline by the handler's own
 * clock. The slot is the thread's own (hgate_thread_slot, the runtime's
 * TLS the handler entry restored), never read from the frame: a signal
 * that reaches a thread it was not aimed at (a tid reused after the slot's
 * thread ended) is judged by that thread's own slot's aim and stack, and
 * one at a thread in the runtime's code (which blocks it) stays pending
 * until that thread runs domain code again, where it is judged the same
 * way: no signal fails a call of a slot it was not aimed at. A call is
 * named by its callee and its stamp (TSC ticks: no two stamps or upcall
 * starts on one thread are the same tick; watchdog_rule.h), so a signal
 * that arrives after the aimed call returned, in the runtime or in the next
 * call (even one into the same callee), finds another call or none and
 * fails nothing. A call the gate left unstamped is stamped by the first
 * signal that finds it innermost, and judged only by later ones: its stamp
 * is never before its start, so it is never failed early. The frame is asked only
 * where the thread is (in_gate, raised: the VM's tick asks its trap frame
 * the same), which moves no decision but when.
 */
enum hwatch_verdict hwatch_judge(int in_gate, int raised, char *why, size_t whylen)
{
	uint64_t tt_va, ms;
	const struct gate_thread_trusted *tt = hgate_thread_conts(&tt_va);
	struct watchdog_call c, a;
	/* A call the gate left unstamped is stamped now, on its own thread,
	 * and is not overdue: its deadline runs from here. */
	if (!tt || hgate_stamp_call() || !aimed(hgate_thread_slot(), &a, &ms) ||
	    !watchdog_innermost_call(tt, tt_va, &c) || !same(&c, &a))
		return HWATCH_GO_ON;
	uint64_t budget = ticks(ms);
	/* The VM's grace: a thread in the gate's code is between a callee's
	 * return and its caller, or entering a call, and a result that reached
	 * the gate in time must not be thrown away. One more budget; a domain
	 * that loops in the gate is caught at twice the budget. */
	if (in_gate)
		budget = budget > UINT64_MAX / 2 ? UINT64_MAX : budget * 2;
	struct hosted_domain *d = hgate_slot(c.callee);
	if (!d || !watchdog_overdue(&c, __rdtsc(), budget))
		return HWATCH_GO_ON;
	fail_timed_out(d, ms, why, whylen);
	/* As the VM's gate_return_to_user: a thread in a raised pass holds a
	 * count or a continuation in flight and finishes it; it is unwound at
	 * a later signal, once it has lowered to a domain's rights, and so to
	 * the failed callee's (the innermost call's). */
	return raised || hgate_current() != d ? HWATCH_LATER : HWATCH_UNWIND;
}

static void *watch(void *arg)
{
	(void)arg;
	for (;;) {
		uint64_t ms = __atomic_load_n(&budget_ms, __ATOMIC_RELAXED);
		/* A few checks a budget: a callee fails within about 1/8 of the
		 * budget after its deadline. */
		uint64_t period = ms ? ms * 1000000ull / 8 : PERIOD_MAX_NS;
		period = period < PERIOD_MIN_NS	  ? PERIOD_MIN_NS
			 : period > PERIOD_MAX_NS ? PERIOD_MAX_NS
						  : period;
		struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)period};
		nanosleep(&ts, NULL);
		/* Judged by the budget now, not the one the period came from:
		 * a budget turned off or changed while this thread slept (or
		 * waited for a CPU, on a loaded host) judges nothing by the old
		 * one. */
		ms = __atomic_load_n(&budget_ms, __ATOMIC_RELAXED);
		/* Every period, at each slot whose innermost call is overdue,
		 * or unstamped (the gate reads no clock: the thread's handler
		 * stamps it, hwatch_judge; the watchdog off, none is): the
		 * handler may find the thread in a raised pass of the gate,
		 * in the gate before its grace is over, or in the runtime's code
		 * (the signal pending), and fail it at a later one. */
		for (unsigned slot = 0; slot < GATE_MAX_THREADS; slot++) {
			uint64_t tt_va;
			const struct gate_thread_trusted *tt = hgate_slot_conts(slot, &tt_va);
			struct watchdog_call c;
			if (tt && watchdog_innermost_call(tt, tt_va, &c) && ms &&
			    (c.start_tsc == WATCHDOG_UNSTAMPED ||
			     watchdog_overdue(&c, __rdtsc(), ticks(ms))))
				hwatch_aim(slot, &c, ms);
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
	hgate_stamp_call(); /* a call not stamped yet: its deadline runs from now */
	if (!started || !ms || !tt || !watchdog_innermost_call(tt, tt_va, &c))
		return ns;
	uint64_t now = __rdtsc(), deadline = c.start_tsc + ticks(ms);
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

void hwatch_fail_overdue(char *why, size_t whylen)
{
	uint64_t tt_va, ms = __atomic_load_n(&budget_ms, __ATOMIC_RELAXED);
	const struct gate_thread_trusted *tt = hgate_thread_conts(&tt_va);
	struct watchdog_call c;
	struct hosted_domain *d;
	/* The call is this thread's own, so it holds the callee (active). */
	if (started && ms && tt && watchdog_innermost_call(tt, tt_va, &c) &&
	    watchdog_overdue(&c, __rdtsc(), ticks(ms)) && (d = hgate_slot(c.callee)))
		fail_timed_out(d, ms, why, whylen);
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
	/* The thread takes no signal: the domain threads' are their own, and a
	 * stray one must not run a handler here. */
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
