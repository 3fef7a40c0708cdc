/*
 * The call watchdog's rule, one copy for both platforms (the VM's
 * domain/watchdog.c, maple-hosted's hosted/watchdog.c): which call on a
 * thread's continuation stack has a deadline, when it is overdue, how a
 * failed call's time is credited to its callers, and the reason a timed-out
 * callee fails with. Portable: the gate's data layout and fmt only.
 */
#ifndef DOMAIN_WATCHDOG_RULE_H
#define DOMAIN_WATCHDOG_RULE_H

#include <domain/gate_layout.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The innermost call on a thread's continuation stack. */
struct watchdog_call {
	uint32_t callee;
	uint64_t start_tsc;
};

/*
 * The innermost call on the continuation stack tt (mapped at tt_va), if it
 * has a deadline (a domain thread's own CONT_THREAD frame has none). The
 * stack lives in TRUSTED pages no domain can write, yet it is read while
 * its thread runs (the VM's tick, hosted's watchdog thread): act on
 * nothing that is not a whole continuation inside the stack, of a call's
 * kind, naming a valid domain id.
 */
bool watchdog_innermost_call(const struct gate_thread_trusted *tt, uint64_t tt_va,
			     struct watchdog_call *out);

/* Whether c is past its deadline at now (budget in TSC ticks, 0: off). A
 * start after now (TSCs of two CPUs a hair apart) is not overdue. */
bool watchdog_overdue(const struct watchdog_call *c, uint64_t now, uint64_t budget);

/* Move the deadline of every call on tt on by tsc ticks (time its thread
 * did not run the calls itself); whole slots in range only. */
void watchdog_discount(struct gate_thread_trusted *tt, uint64_t tt_va, uint64_t tsc);

/* The reason a timed-out callee fails with: "watchdog: a call ran longer
 * than 200 ms" and `where` (" (thread 3 asleep in the kernel)" or ""). */
void watchdog_reason(char *out, size_t outlen, uint64_t budget_ms, const char *where);

#endif
