/*
 * The call watchdog (domain/watchdog.h): the deadline of each call into a
 * domain, judged on the thread's own way back to ring 3 and, for threads
 * parked in the kernel, from the timer tick.
 */
#include <arch/x86/cpu.h>
#include <core/boot.h>
#include <core/log.h>
#include <core/thread.h>
#include <core/time.h>
#include <domain/domain.h>
#include <domain/gate.h>
#include <domain/watchdog.h>
#include <domain/watchdog_rule.h>
#include <lib/cmdline.h>
#include <lib/fmt.h>

#define WATCHDOG_DEFAULT_MS 1000

extern const char __gate_start[], __gate_end[];

static uint64_t budget_ms = WATCHDOG_DEFAULT_MS;
static uint64_t budget_tsc; /* the same in TSC ticks; 0: off */

void watchdog_init(void)
{
	uint64_t ms = WATCHDOG_DEFAULT_MS;
	cmdline_get_u64(boot_info.cmdline, "watchdog_ms", &ms);
	watchdog_set_budget_ms(ms);
	klog("watchdog: a call into a domain may take %lu ms%s", ms, ms ? "" : " (watchdog off)");
}

/* The budget of a call in ms (0: off). */
static uint64_t watchdog_budget_ms(void)
{
	return __atomic_load_n(&budget_ms, __ATOMIC_RELAXED);
}

uint64_t watchdog_set_budget_ms(uint64_t ms)
{
	uint64_t per_ms = time_tsc_hz() / 1000;
	uint64_t tsc = per_ms && ms > UINT64_MAX / per_ms ? UINT64_MAX : ms * per_ms;
	__atomic_store_n(&budget_tsc, tsc, __ATOMIC_RELAXED);
	return __atomic_exchange_n(&budget_ms, ms, __ATOMIC_RELAXED);
}

/*
 * The innermost call on g's continuation stack, by the shared rule, stamped
 * now if the gate left it unstamped (watchdog_rule.h; a call stamped now is
 * not overdue): every caller runs on g's own thread, or while it is parked
 * under the scheduler lock, so nothing else writes the stamp meanwhile.
 */
static bool innermost_call(const struct thread_gate *g, struct watchdog_call *out)
{
	if (!watchdog_innermost_call(g->tt, g->tt_va, out))
		return false;
	watchdog_stamp(g->tt, g->tt_va, rdtsc(), out);
	return true;
}

void watchdog_discount_wait(struct thread *t, uint64_t tsc)
{
	const struct thread_gate *g = t->gate;
	/* t is not running: only the kernel writes its continuations now. */
	if (g && tsc)
		watchdog_discount(g->tt, g->tt_va, tsc);
}

void watchdog_credit_failed_call(struct thread *t, uint64_t start_tsc)
{
	watchdog_discount_wait(t, watchdog_failed_call_ticks(start_tsc, rdtsc()));
}

static void fail_timed_out(struct domain *d, const char *where)
{
	/* ETIMEDOUT only for a domain this failure is the first of. */
	spin_lock(&d->lock);
	bool running = d->state == DOMAIN_RUNNING;
	if (running)
		d->fail_errno = MAPLE_ETIMEDOUT;
	spin_unlock(&d->lock);
	if (running) {
		char reason[128]; /* fail_reason's size */
		watchdog_reason(reason, sizeof reason, watchdog_budget_ms(), where);
		domain_fail(d, "%s", reason);
	}
}

static bool in_gate(uint64_t rip)
{
	return rip >= MAPLE_GATE_VA && rip < MAPLE_GATE_VA + (uint64_t)(__gate_end - __gate_start);
}

void watchdog_check_current(struct thread *t, uint64_t rip)
{
	struct watchdog_call c;
	uint64_t budget = __atomic_load_n(&budget_tsc, __ATOMIC_RELAXED);
	if (!t->gate || !innermost_call(t->gate, &c))
		return;
	/*
	 * A thread stopped in the gate's code is between a callee's return
	 * and its caller, or entering a call: a result that reached the gate
	 * in time must not be thrown away because the tick landed there. One
	 * more budget of grace; a domain that jumps into the gate and loops
	 * there is still caught, at twice the budget.
	 */
	if (in_gate(rip))
		budget = budget > UINT64_MAX / 2 ? UINT64_MAX : budget * 2;
	if (!watchdog_overdue(&c, rdtsc(), budget))
		return;
	/* The call is this thread's own, so it holds the callee (active). */
	struct domain *d = domain_by_id(c.callee);
	if (d)
		fail_timed_out(d, "");
}

uint64_t watchdog_bound_sleep_ns(struct thread *t, uint64_t ns)
{
	struct watchdog_call c;
	uint64_t budget = __atomic_load_n(&budget_tsc, __ATOMIC_RELAXED);
	uint64_t per_us = time_tsc_hz() / 1000000;
	if (!budget || !per_us || !t->gate || !innermost_call(t->gate, &c))
		return ns;
	uint64_t now = rdtsc(), deadline = c.start_tsc + budget;
	if (deadline < c.start_tsc)
		return ns; /* a deadline beyond the TSC's range: none */
	if (now >= deadline)
		return 0;
	/* Wake just past the deadline (rounded up to whole microseconds), so
	 * the tick that wakes the thread finds its call overdue. */
	uint64_t left_ns = ((deadline - now + per_us - 1) / per_us + 1) * 1000;
	return ns < left_ns ? ns : left_ns;
}

void watchdog_judge_parked(struct thread *t, struct watchdog_catch *c)
{
	struct watchdog_call call;
	if (!t->gate || !innermost_call(t->gate, &call) ||
	    !watchdog_overdue(&call, rdtsc(), __atomic_load_n(&budget_tsc, __ATOMIC_RELAXED)))
		return;
	for (uint32_t i = 0; i < c->n; i++)
		if (c->caught[i].id == call.callee)
			return;
	if (c->n == WATCHDOG_CATCH_MAX)
		return;
	c->caught[c->n].id = call.callee;
	c->caught[c->n].gen = gate_domtab(call.callee)->gen;
	c->caught[c->n].thread = t->id;
	c->n++;
}

/* Under the domain-list lock, so d cannot be freed while it is failed;
 * the generation check keeps a successor in the same slot safe. */
static void fail_caught_one(struct domain *d, void *arg)
{
	const struct watchdog_catch *c = arg;
	for (uint32_t i = 0; i < c->n; i++) {
		if (c->caught[i].id != d->id || c->caught[i].gen != d->gen)
			continue;
		char where[48];
		fmt_snprintf(where, sizeof where, " (thread %u asleep in the kernel)",
			     c->caught[i].thread);
		fail_timed_out(d, where);
	}
}

void watchdog_fail_caught(const struct watchdog_catch *c)
{
	if (c->n)
		domain_foreach(fail_caught_one, (void *)c);
}
