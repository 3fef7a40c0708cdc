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

/*
 * A call's start as the watchdog knows it. The gate reads no clock: it
 * pushes a call's continuation with start_tsc WATCHDOG_UNSTAMPED, and the
 * watchdog stamps the call (watchdog_stamp) the first time it finds it the
 * innermost, on the call's own thread or while that thread cannot run (the
 * VM's tick and syscall returns; maple-hosted's signal handler, which the
 * watchdog thread's signal at an unstamped call brings about), so no other
 * writer races the stamp. A stamp is never before the call's start (the
 * call was in progress when it was taken) and at most one look after it (a
 * tick, a watch period): a call may run that much past its budget, never
 * be failed before it. The kernel's and the runtime's upcalls are stamped
 * at their start (they read the clock outside the gate).
 */
#define WATCHDOG_UNSTAMPED 0

/* The innermost call on a thread's continuation stack. */
struct watchdog_call {
	uint32_t callee;
	uint64_t start_tsc; /* its stamp, or WATCHDOG_UNSTAMPED */
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
 * start after now (TSCs of two CPUs a hair apart) is not overdue, nor is an
 * unstamped call. */
bool watchdog_overdue(const struct watchdog_call *c, uint64_t now, uint64_t budget);

/* Stamp the innermost call on tt with now if it has a deadline and no stamp
 * yet, and say so (c, if not NULL, is that call then). Only on the call's
 * own thread, or while it cannot run: no other writer. */
bool watchdog_stamp(struct gate_thread_trusted *tt, uint64_t tt_va, uint64_t now,
		    struct watchdog_call *c);

/* Move the deadline of every call on tt on by tsc ticks (time its thread
 * did not run the calls itself); whole slots in range only, stamped calls
 * only (an unstamped one is stamped later than that time anyway). */
void watchdog_discount(struct gate_thread_trusted *tt, uint64_t tt_va, uint64_t tsc);

/* How long a failed call that started at start_tsc ran, at now: what its
 * callers are credited (0 for an unstamped call, which ended before any
 * look at it, and for a start after now). */
uint64_t watchdog_failed_call_ticks(uint64_t start_tsc, uint64_t now);

/* The reason a timed-out callee fails with: "watchdog: a call ran longer
 * than 200 ms" and `where` (" (thread 3 asleep in the kernel)" or ""). */
void watchdog_reason(char *out, size_t outlen, uint64_t budget_ms, const char *where);

#endif
