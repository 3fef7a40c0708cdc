/*
 * In-guest tests of the call watchdog and of debug traps in domains, with
 * rogue's watch cases (test/rogue/watch_cases.h): a callee asleep in the kernel
 * or asleep forever times out within a bound, a callee that finishes in
 * time keeps its result, a domain thread's call into a spinning or
 * sleeping domain times out, a loop inside the gate page is caught, and a
 * domain that single-steps or loops on int3 fails with one log line, and
 * leaves no trap flag to its caller. Each runs counted (no leaks).
 */
#include <core/log.h>
#include <core/sched.h>
#include <core/time.h>
#include <domain/domain.h>
#include <domain/gate.h>
#include <domain/watchdog.h>
#include <ktest/counted.h>
#include <ktest/ktest.h>
#include <lib/fmt.h>
#include <lib/string.h>
#include <test/rogue/cases.h>
#include <test/rogue/gate_cases.h>
#include <test/rogue/watch_cases.h>

#define BUDGET_MS 200
#define BUDGET_NS (BUDGET_MS * 1000000UL)
/* Generous for TCG on a loaded host, yet far below the 5 s the old
 * watchdog took for a 5 s sleep, and it never caught an endless one. */
#define TIMEOUT_BOUND_NS 2000000000UL
#define SLEEP_NS	 5000000000UL
#define IN_TIME_NS	 40000000UL /* a fifth of the budget */
#define POLL_NS		 10000000UL
#define WAIT_NS		 30000000000UL /* for each counted body */
/* Lines a trapping case may log: its own "watch case" line and the
 * failure, one spare. The old kernel logged one per trap, without end. */
#define TRAP_LINES_MAX 3

extern const char __gate_start[], gate_entry_raise[], gate_resume[];

static uint64_t gate_va(const char *sym)
{
	return MAPLE_GATE_VA + (uint64_t)(sym - __gate_start);
}

/* What a finished call left behind, read before its domain is destroyed. */
struct outcome {
	long result;
	uint64_t ns;
	enum domain_state state;
	char reason[sizeof((struct domain *)0)->fail_reason];
	uint64_t lines;
};

/* run(number, target) of d, timed, with the lines it made the kernel log. */
static struct outcome call2(struct domain *d, long number, uint64_t target, uint64_t a2)
{
	struct outcome o;
	uint64_t lines = log_lines(), start = time_ns();
	o.result = domain_call(d, Rogue_run_METHOD, number, (long)target, (long)a2, 0);
	o.ns = time_ns() - start;
	o.lines = log_lines() - lines;
	o.state = d->state;
	strlcpy(o.reason, d->fail_reason, sizeof o.reason);
	return o;
}

static struct outcome call(struct domain *d, long number, uint64_t target)
{
	return call2(d, number, target, 0);
}

#define KT_ASSERT_TIMED_OUT(o)                                                                     \
	do {                                                                                       \
		KT_ASSERT_EQ((o).result, -MAPLE_ETIMEDOUT);                                        \
		KT_ASSERT_EQ((o).state, DOMAIN_FAILING);                                           \
		KT_ASSERT(strstr((o).reason, "watchdog: a call ran longer than 200 ms"));          \
		KT_ASSERT((o).ns >= BUDGET_NS);                                                    \
		KT_ASSERT((o).ns < TIMEOUT_BOUND_NS);                                              \
	} while (0)

static void callee_asleep_in_the_kernel(struct ktest_ctx *t)
{
	struct domain *r = ktest_create(t, "rogue");
	if (!r)
		return;
	uint64_t old = watchdog_set_budget_ms(BUDGET_MS);
	struct outcome o = call(r, ROGUE_W_SLEEP, SLEEP_NS);
	watchdog_set_budget_ms(old);
	ktest_destroy(r);
	/* Failed long before the 5 s sleep ran out (KT_ASSERT_TIMED_OUT's
	 * bound): by the tick while parked ("asleep in the kernel"), or, on a
	 * loaded host where the sleep, bounded by the deadline, ends first, by
	 * the thread's own check on its way out. Either is the watchdog. */
	KT_ASSERT_TIMED_OUT(o);
}

KTEST(watchdog_fails_a_callee_asleep_in_the_kernel)
{
	ktest_run_counted(t, "kt-wd-sleep", callee_asleep_in_the_kernel, WAIT_NS);
}

static void callee_asleep_forever(struct ktest_ctx *t)
{
	struct domain *r = ktest_create(t, "rogue");
	if (!r)
		return;
	uint64_t old = watchdog_set_budget_ms(BUDGET_MS);
	struct outcome o = call(r, ROGUE_W_SLEEP_FOREVER, 0);
	watchdog_set_budget_ms(old);
	ktest_destroy(r);
	KT_ASSERT_TIMED_OUT(o);
}

KTEST(watchdog_fails_a_callee_asleep_forever)
{
	ktest_run_counted(t, "kt-wd-forever", callee_asleep_forever, WAIT_NS);
}

static void callee_in_time(struct ktest_ctx *t)
{
	struct domain *r = ktest_create(t, "rogue");
	if (!r)
		return;
	uint64_t old = watchdog_set_budget_ms(BUDGET_MS);
	struct outcome o[6];
	for (int i = 0; i < 6; i += 2) {
		o[i] = call(r, ROGUE_W_SLEEP, IN_TIME_NS);
		o[i + 1] = call(r, ROGUE_W_BUSY, IN_TIME_NS);
	}
	watchdog_set_budget_ms(old);
	ktest_destroy(r);
	for (int i = 0; i < 6; i++) {
		KT_ASSERT_EQ(o[i].result, ROGUE_W_DONE);
		KT_ASSERT_EQ(o[i].state, DOMAIN_RUNNING);
		KT_ASSERT(o[i].ns >= IN_TIME_NS);
	}
}

KTEST(watchdog_keeps_the_result_of_a_callee_in_time)
{
	ktest_run_counted(t, "kt-wd-intime", callee_in_time, WAIT_NS);
}

/* A domain thread of `caller` calls `callee` (case start_case); wait for
 * what the call returned. */
static struct outcome thread_call(struct domain *caller, struct domain *callee, long start_case)
{
	struct outcome o = call(caller, start_case, domain_handle(callee));
	uint64_t start = time_ns();
	if (o.result > 0) {
		do {
			thread_sleep_ns(POLL_NS);
			o.result = domain_call(caller, Rogue_run_METHOD, ROGUE_W_THREAD_RESULT, 0,
					       0, 0);
		} while (o.result == ROGUE_W_PENDING && time_ns() - start < 2 * TIMEOUT_BOUND_NS);
	}
	o.ns = time_ns() - start;
	o.state = callee->state;
	strlcpy(o.reason, callee->fail_reason, sizeof o.reason);
	return o;
}

static void domain_thread_calls(struct ktest_ctx *t)
{
	struct domain *a = ktest_create(t, "rogue"), *spinner = a ? ktest_create(t, "rogue") : NULL;
	struct domain *sleeper = spinner ? ktest_create(t, "rogue") : NULL;
	if (!sleeper) {
		ktest_destroy(spinner);
		ktest_destroy(a);
		return;
	}
	uint64_t old = watchdog_set_budget_ms(BUDGET_MS);
	struct outcome spin = thread_call(a, spinner, ROGUE_W_THREAD_CALL_SPIN);
	struct outcome sleep = thread_call(a, sleeper, ROGUE_W_THREAD_CALL_SLEEPER);
	watchdog_set_budget_ms(old);
	bool caller_runs = a->state == DOMAIN_RUNNING;
	ktest_destroy(sleeper);
	ktest_destroy(spinner);
	ktest_destroy(a);
	KT_ASSERT_TIMED_OUT(spin);
	KT_ASSERT_TIMED_OUT(sleep);
	KT_ASSERT(caller_runs);
}

KTEST(watchdog_times_out_a_domain_threads_calls)
{
	ktest_run_counted(t, "kt-wd-thread", domain_thread_calls, WAIT_NS);
}

/* A loop through the gate page: rogue returns into the gate's entry from
 * gate_resume on a frame that leads back to itself (test/rogue/gate_cases.h). */
static void spin_in_gate(struct ktest_ctx *t)
{
	struct domain *r = ktest_create(t, "rogue");
	if (!r)
		return;
	uint64_t old = watchdog_set_budget_ms(BUDGET_MS);
	struct outcome o =
		call2(r, ROGUE_GATE_LOOP, gate_va(gate_entry_raise), gate_va(gate_resume));
	watchdog_set_budget_ms(old);
	ktest_destroy(r);
	KT_ASSERT_TIMED_OUT(o);
	/* In the gate's code a thread gets one more budget, no more. */
	KT_ASSERT(o.ns >= 2 * BUDGET_NS);
}

KTEST(watchdog_catches_a_loop_inside_the_gate)
{
	ktest_run_counted(t, "kt-wd-gate", spin_in_gate, WAIT_NS);
}

static void debug_traps(struct ktest_ctx *t)
{
	static const struct {
		long number;
		const char *trap;
	} cases[] = {{ROGUE_W_SINGLE_STEP, "#DB"}, {ROGUE_W_INT3, "#BP"}};
	for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct domain *r = ktest_create(t, "rogue");
		if (!r)
			return;
		long rip =
			domain_call(r, Rogue_run_METHOD, ROGUE_W_TRAP_RIP, cases[i].number, 0, 0);
		struct outcome o = call(r, cases[i].number, 0);
		ktest_destroy(r);
		char where[48];
		fmt_snprintf(where, sizeof where, "rip %#lx (", (uint64_t)rip);
		KT_ASSERT(rip > 0);
		KT_ASSERT_EQ(o.result, -MAPLE_ECALLEE);
		KT_ASSERT_EQ(o.state, DOMAIN_FAILING);
		KT_ASSERT(!strncmp(o.reason, cases[i].trap, 3)); /* the trap, first */
		if (!strstr(o.reason, where)) {
			ktest_fail(t, __FILE__, __LINE__, "fail reason '%s' lacks '%s'", o.reason,
				   where);
			return;
		}
		KT_ASSERT(o.lines <= TRAP_LINES_MAX);
	}
}

KTEST(domain_debug_traps_fail_it_with_one_log_line)
{
	ktest_run_counted(t, "kt-wd-traps", debug_traps, WAIT_NS);
}

static void trap_flag_to_caller(struct ktest_ctx *t)
{
	struct domain *caller = ktest_create(t, "rogue"),
		      *callee = caller ? ktest_create(t, "rogue") : NULL;
	if (!callee) {
		ktest_destroy(caller);
		return;
	}
	struct outcome o = call(caller, ROGUE_W_CALL_TF_FAULT, domain_handle(callee));
	enum domain_state callee_state = callee->state;
	char reason[sizeof callee->fail_reason];
	strlcpy(reason, callee->fail_reason, sizeof reason);
	ktest_destroy(callee);
	ktest_destroy(caller);
	KT_ASSERT_EQ(o.result, ROGUE_W_SURVIVED);
	KT_ASSERT_EQ(o.state, DOMAIN_RUNNING);
	KT_ASSERT_EQ(callee_state, DOMAIN_FAILING);
	KT_ASSERT(strstr(reason, "#UD"));
	/* Two "watch case" lines and the callee's failure, one spare. */
	KT_ASSERT(o.lines <= TRAP_LINES_MAX + 1);
}

KTEST(domain_unwinding_leaves_no_trap_flag_to_the_caller)
{
	ktest_run_counted(t, "kt-wd-tf", trap_flag_to_caller, WAIT_NS);
}
