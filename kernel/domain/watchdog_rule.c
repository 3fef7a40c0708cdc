/*
 * The call watchdog's rule (domain/watchdog_rule.h), shared by the VM and
 * maple-hosted: what a deadline is and what a timed-out callee is told.
 */
#include <domain/watchdog_rule.h>
#include <lib/fmt.h>

/* The index past the innermost continuation, or 0 when cont_top is not a
 * whole slot inside the stack. */
static uint64_t slots(uint64_t top, uint64_t tt_va)
{
	uint64_t base = tt_va + GTT_CONTS;
	if (top <= base || top > base + (uint64_t)CONT_SIZE * GATE_MAX_DEPTH ||
	    (top - base) % CONT_SIZE)
		return 0;
	return (top - base) / CONT_SIZE;
}

bool watchdog_innermost_call(const struct gate_thread_trusted *tt, uint64_t tt_va,
			     struct watchdog_call *out)
{
	uint64_t n = slots(__atomic_load_n(&tt->cont_top, __ATOMIC_ACQUIRE), tt_va);
	if (!n)
		return false;
	const struct continuation *c = &tt->conts[n - 1];
	uint64_t kind = __atomic_load_n(&c->kind, __ATOMIC_RELAXED);
	uint64_t callee = __atomic_load_n(&c->callee, __ATOMIC_RELAXED);
	if ((kind != CONT_XCALL && kind != CONT_UPCALL) || !callee || callee >= GATE_MAX_DOMAINS)
		return false;
	out->callee = (uint32_t)callee;
	out->start_tsc = __atomic_load_n(&c->start_tsc, __ATOMIC_RELAXED);
	return true;
}

bool watchdog_overdue(const struct watchdog_call *c, uint64_t now, uint64_t budget)
{
	return budget && c->start_tsc != WATCHDOG_UNSTAMPED && now > c->start_tsc &&
	       now - c->start_tsc > budget;
}

bool watchdog_stamp(struct gate_thread_trusted *tt, uint64_t tt_va, uint64_t now,
		    struct watchdog_call *c)
{
	struct watchdog_call call;
	if (!watchdog_innermost_call(tt, tt_va, &call) || call.start_tsc != WATCHDOG_UNSTAMPED ||
	    now == WATCHDOG_UNSTAMPED)
		return false;
	uint64_t n = slots(tt->cont_top, tt_va);
	__atomic_store_n(&tt->conts[n - 1].start_tsc, now, __ATOMIC_RELAXED);
	call.start_tsc = now;
	if (c)
		*c = call;
	return true;
}

void watchdog_discount(struct gate_thread_trusted *tt, uint64_t tt_va, uint64_t tsc)
{
	uint64_t n = slots(tt->cont_top, tt_va);
	for (uint64_t i = 0; i < n; i++)
		if (tt->conts[i].start_tsc != WATCHDOG_UNSTAMPED)
			__atomic_add_fetch(&tt->conts[i].start_tsc, tsc, __ATOMIC_RELAXED);
}

uint64_t watchdog_failed_call_ticks(uint64_t start_tsc, uint64_t now)
{
	return start_tsc != WATCHDOG_UNSTAMPED && now > start_tsc ? now - start_tsc : 0;
}

void watchdog_reason(char *out, size_t outlen, uint64_t budget_ms, const char *where)
{
	fmt_snprintf(out, outlen, "watchdog: a call ran longer than %lu ms%s", budget_ms, where);
}
