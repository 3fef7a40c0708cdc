/*
 * maple-hosted's ports of the VM's watchdog tests (tests_watch.h): rogue
 * case 10 (kernel/ktest/domains.c's suite: an endless loop is
 * -MAPLE_ETIMEDOUT) and kernel/ktest/watchdog.c's callee in time and domain
 * thread's call into a spinner, under the VM tests' 200 ms budget (the
 * callee in time and the caller's credit under the VM's default 1 s: a
 * call's wall time on a loaded host, run_in_time says why). Each
 * asserts the VM's outcome (the error code its caller hears, the reason,
 * the VM's `domain: ... failed:` line, how long it took) and ends with the
 * leak check of tests_domains.c. The sleeping cases (100, 101, 104) sleep
 * in SYS_SLEEP_NS (syscalls.c). The cases hosted cannot run are listed in
 * docs/platform.md ("The rogue suite, hosted"). Then the loops the
 * watchdog's signal reaches outside the callee's code, and a signal for a
 * call that returned.
 */
#define _GNU_SOURCE
#include "tests_watch.h"

#include "entry.h"
#include "gate.h"
#include "inject.h"
#include "loader.h"
#include "syscalls.h"
#include "tests.h"
#include "tests_rogue.h"
#include "watchdog.h"

#include <domain/gate_layout.h>
#include <idl/rogue_methods.h>
#include <maple/abi.h>
#include <test/rogue/attack5_cases.h>
#include <test/rogue/cases.h>
#include <test/rogue/gate_cases.h>
#include <test/rogue/watch_cases.h>
#include <test/rogue/watchsig_cases.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WHY	      512
#define BUDGET_MS     200 /* kernel/ktest/watchdog.c's */
#define BUDGET_NS     (BUDGET_MS * 1000000ull)
#define TIMEOUT_BOUND 2000000000ull			   /* the VM tests' bound on a timeout */
#define IN_TIME_NS    (HWATCH_DEFAULT_MS * 1000000ull / 5) /* a fifth of run_in_time's budget */
#define SLEEP_NS      5000000000ull /* kernel/ktest/watchdog.c's: far past the bound */
#define TIMED_OUT     "watchdog: a call ran longer than 200 ms"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A rogue, with the watchdog running at the VM tests' budget. */
static struct hosted_domain *rogue(char *why, size_t len)
{
	static int watching;
	if (!watching && hwatch_start(BUDGET_MS, why, len) < 0)
		return NULL;
	watching = 1;
	return htest_create("rogue", why, len);
}

/* rogue.run(number, target, a2, a3) as an upcall: its outcome line in out,
 * and how long it took. */
static uint64_t run4(struct hosted_domain *r, long number, long target, long a2, long a3, char *out,
		     size_t len)
{
	const long a[4] = {number, target, a2, a3};
	uint64_t start = now_ns();
	htest_outcome(r, r->methods[Rogue_run_METHOD], a, out, len);
	return now_ns() - start;
}

static uint64_t run(struct hosted_domain *r, long number, long target, char *out, size_t len)
{
	return run4(r, number, target, 0, 0, out, len);
}

/* The VM's KT_ASSERT_TIMED_OUT for the domain d: failed, its errno
 * MAPLE_ETIMEDOUT, the VM's line logged (naming the budget ms it failed
 * under), within [floor, bound). */
static int timed_out_under(const struct hosted_domain *d, uint64_t ns, uint64_t floor, uint64_t ms,
			   char *why, size_t len)
{
	char line[192], reason[96];
	watchdog_reason(reason, sizeof reason, ms, "");
	snprintf(line, sizeof line, "domain: rogue \\(id %u\\) failed: %s", d->id, reason);
	if (hgate_state(d) != GATE_DOMAIN_FAILED || d->fail_errno != MAPLE_ETIMEDOUT ||
	    strcmp(d->fail_reason, reason) || !htest_has_line(line))
		return htest_fail(
			why, len,
			"rogue (id %u): state %lu, errno %d, reason '%s', line %s; want failed, "
			"%d, '%s', the VM's line",
			d->id, (unsigned long)hgate_state(d), d->fail_errno, d->fail_reason,
			htest_has_line(line) ? "logged" : "missing", MAPLE_ETIMEDOUT, reason);
	if (ns < floor || ns >= TIMEOUT_BOUND)
		return htest_fail(why, len, "timed out after %lu ms; want [%lu ms, %llu ms)",
				  (unsigned long)(ns / 1000000), (unsigned long)(floor / 1000000),
				  TIMEOUT_BOUND / 1000000);
	return 0;
}

static int timed_out_after(const struct hosted_domain *d, uint64_t ns, uint64_t floor, char *why,
			   size_t len)
{
	return timed_out_under(d, ns, floor, BUDGET_MS, why, len);
}

static int timed_out(const struct hosted_domain *d, uint64_t ns, char *why, size_t len)
{
	return timed_out_after(d, ns, BUDGET_NS, why, len);
}

/* rogue.run(number, target) as an upcall fails as timed out: the upcall
 * (the VM's domain_call, which returns -MAPLE_ETIMEDOUT) with the reason,
 * and rogue as timed_out says; then the leak check. */
static int run_timed_out(long number, long target, char *why, size_t len)
{
	struct hosted_domain *r = rogue(why, len);
	if (!r || htest_capture_begin(why, len) < 0)
		return -1;
	char got[WHY];
	uint64_t ns = run(r, number, target, got, sizeof got);
	htest_capture_end();
	if (strcmp(got, "rogue failed: " TIMED_OUT))
		return htest_fail(why, len, "'%.200s'; want 'rogue failed: %s'", got, TIMED_OUT);
	if (timed_out(r, ns, why, len) < 0)
		return -1;
	return htest_leak_check(why, len);
}

/* Rogue case 10 (ROGUE_SPIN), the VM's domain_rogue_suite_is_contained_
 * without_leaks: the endless loop is failed by the watchdog. Before: the
 * runtime spun for ever (`run rogue.elf 0 10` exited 124 under timeout 5). */
static int run_spin(char *why, size_t len)
{
	return run_timed_out(ROGUE_SPIN, 0, why, len);
}

/* watchdog_fails_a_callee_asleep_in_the_kernel (case 100, a 5 s sleep)
 * and watchdog_fails_a_callee_asleep_forever (case 101): the sleep ends
 * just past the deadline (hwatch_bound_sleep_ns) and the callee fails as
 * timed out. */
static int run_asleep_in_the_kernel(char *why, size_t len)
{
	return run_timed_out(ROGUE_W_SLEEP, (long)SLEEP_NS, why, len);
}

static int run_asleep_forever(char *why, size_t len)
{
	return run_timed_out(ROGUE_W_SLEEP_FOREVER, 0, why, len);
}

/*
 * watchdog_keeps_the_result_of_a_callee_in_time: three sleeps and three
 * busy runs, in turn, each a fifth of the budget, keep their result, and
 * rogue runs on. The budget here is the VM's default (HWATCH_DEFAULT_MS),
 * not the VM test's 200 ms: a call's time is wall time, and on a host
 * loaded to 13 (or beside four busy loops, niced) a 40 ms busy call came
 * back after 241 to 482 ms, its thread not run past its end; 800 ms of
 * slack per call. The six calls together still run past one budget, so a
 * watchdog that charged a callee's calls together would still fail it.
 */
static int run_in_time(char *why, size_t len)
{
	struct hosted_domain *r = rogue(why, len);
	if (!r)
		return -1;
	char want[64];
	snprintf(want, sizeof want, "rogue returned %d", ROGUE_W_DONE);
	hwatch_set_budget_ms(HWATCH_DEFAULT_MS);
	for (int i = 0; i < 6; i++) {
		char got[WHY];
		uint64_t ns = run(r, i % 2 ? ROGUE_W_BUSY : ROGUE_W_SLEEP, (long)IN_TIME_NS, got,
				  sizeof got);
		if (strcmp(got, want) || ns < IN_TIME_NS || hgate_state(r) != GATE_DOMAIN_RUNNING) {
			hwatch_set_budget_ms(BUDGET_MS);
			return htest_fail(why, len,
					  "call %d: '%.200s' after %lu ms (state %lu); want '%s'",
					  i, got, (unsigned long)(ns / 1000000),
					  (unsigned long)hgate_state(r), want);
		}
	}
	hwatch_set_budget_ms(BUDGET_MS);
	return htest_leak_check(why, len);
}

/* watchdog_times_out_a_domain_threads_calls: a domain thread of a calls
 * the callee's run(ROGUE_SPIN) (case 103) or its endless sleep (case 104);
 * the call comes back to the thread with -MAPLE_ETIMEDOUT, the callee
 * fails, a runs on. The thread's own frame has no deadline, and the
 * failed call's time is not its (else the watchdog fails a as well: the
 * thread ran 200 ms). */
static int run_thread_call(long start_case, char *why, size_t len)
{
	struct hosted_domain *a = rogue(why, len);
	struct hosted_domain *spinner = a ? rogue(why, len) : NULL;
	if (!spinner)
		return -1;
	char got[WHY], want[64];
	/* Timed and captured from before the thread starts: it runs at once. */
	if (htest_capture_begin(why, len) < 0)
		return -1;
	uint64_t start = now_ns();
	run(a, start_case, (long)hgate_handle(spinner), got, sizeof got);
	unsigned ran = hsys_run_threads();
	uint64_t ns = now_ns() - start;
	htest_capture_end();
	if (strcmp(got, "rogue returned 1"))
		return htest_fail(why, len,
				  "starting the thread: '%.200s'; want 'rogue returned 1'", got);
	if (ran != 1)
		return htest_fail(why, len, "%u threads ran; want 1", ran);
	if (timed_out(spinner, ns, why, len) < 0)
		return -1;
	run(a, ROGUE_W_THREAD_RESULT, 0, got, sizeof got);
	snprintf(want, sizeof want, "rogue returned %d", -MAPLE_ETIMEDOUT);
	if (strcmp(got, want) || hgate_state(a) != GATE_DOMAIN_RUNNING)
		return htest_fail(why, len,
				  "the thread's call: '%.200s' (caller state %lu); want '%s', "
				  "the caller running",
				  got, (unsigned long)hgate_state(a), want);
	return htest_leak_check(why, len);
}

static int run_thread_call_spin(char *why, size_t len)
{
	return run_thread_call(ROGUE_W_THREAD_CALL_SPIN, why, len);
}

static int run_thread_call_sleeper(char *why, size_t len)
{
	return run_thread_call(ROGUE_W_THREAD_CALL_SLEEPER, why, len);
}

/* Rogue case 112: a domain thread that runs 300 ms, past the budget,
 * finishes: its own frame (the VM's CONT_THREAD) has no deadline. */
static int run_thread_busy(char *why, size_t len)
{
	struct hosted_domain *r = rogue(why, len);
	if (!r)
		return -1;
	char got[WHY], want[64];
	uint64_t start = now_ns(); /* from before the thread starts: it runs at once */
	run(r, ROGUE_W_THREAD_BUSY, (long)(3 * BUDGET_NS / 2), got, sizeof got);
	if (strcmp(got, "rogue returned 1"))
		return htest_fail(why, len,
				  "starting the thread: '%.200s'; want 'rogue returned 1'", got);
	unsigned ran = hsys_run_threads();
	uint64_t ns = now_ns() - start;
	run(r, ROGUE_W_THREAD_RESULT, 0, got, sizeof got);
	snprintf(want, sizeof want, "rogue returned %d", ROGUE_W_DONE);
	if (ran != 1 || strcmp(got, want) || ns < 3 * BUDGET_NS / 2 ||
	    hgate_state(r) != GATE_DOMAIN_RUNNING)
		return htest_fail(why, len,
				  "%u threads ran for %lu ms, then '%.200s' (state %lu); want 1 "
				  "for 300 ms, '%s', rogue running",
				  ran, (unsigned long)(ns / 1000000), got,
				  (unsigned long)hgate_state(r), want);
	return htest_leak_check(why, len);
}

/*
 * Rogue case 113, the VM's watchdog_credit_failed_call: a calls spinner,
 * which times out; a then runs 100 ms more and returns the call's
 * -MAPLE_ETIMEDOUT. The budget and more the spinning call took are not
 * a's own (else a, at the budget and 100 ms, is failed too: bench/faults'
 * finding 3, a shadow failed while it restarts its driver). Under the
 * VM's default 1 s budget, not the VM test's 200 ms: a's own 100 ms are
 * wall time, and beside two busy loops and the PKU guest (load 14) they
 * once ran past 200 ms ('rogue failed: watchdog: a call ran longer than
 * 200 ms', 1 of 12 runs of the suite). Whatever the budget, a's call
 * spans more than it, so a watchdog that did not credit the failed call
 * still fails a.
 */
static int run_caller_credited(char *why, size_t len)
{
	struct hosted_domain *a = rogue(why, len);
	struct hosted_domain *spinner = a ? rogue(why, len) : NULL;
	if (!spinner || htest_capture_begin(why, len) < 0)
		return -1;
	char got[WHY], want[64];
	hwatch_set_budget_ms(HWATCH_DEFAULT_MS);
	uint64_t ns =
		run(a, ROGUE_W_CALL_SPIN_THEN_BUSY, (long)hgate_handle(spinner), got, sizeof got);
	hwatch_set_budget_ms(BUDGET_MS);
	htest_capture_end();
	snprintf(want, sizeof want, "rogue returned %d", -MAPLE_ETIMEDOUT);
	if (strcmp(got, want) || hgate_state(a) != GATE_DOMAIN_RUNNING)
		return htest_fail(why, len,
				  "'%.200s' (caller state %lu); want '%s', the caller running", got,
				  (unsigned long)hgate_state(a), want);
	if (timed_out_under(spinner, ns, HWATCH_DEFAULT_MS * 1000000ull, HWATCH_DEFAULT_MS, why,
			    len) < 0)
		return -1;
	return htest_leak_check(why, len);
}

/* The handlers' entry stub's WRPKRU for faults (sigentry.S). */
extern const char entry_keyed_fault_wrpkru[];

/* Rogue case 220: after a strike took execution from rogue's code and gave
 * it back (a campaign's strike dropped before it was taken; here armed
 * and cancelled by the test), rogue forges a SIGSEGV frame on the
 * signal stack for a refused fetch in its own code, with PKRU 0 in the
 * frame's XSAVE area, to jump to the fault entry with it. The signal
 * stack is the runtime's (key 0): the forging faults, and the TRUSTED
 * word stays. Before attack5's fix (seen, PKU guest, the stack SHARED):
 * inject_fault answered INJECT_RETRY and rt_sigreturn restored the frame's
 * PKRU 0: 'rogue returned 24589' (ROGUE_NOT_CONTAINED), the TRUSTED word
 * written; after it, the frame was served with rogue's own rights. */
static int run_forged_retry(char *why, size_t len)
{
	struct hosted_domain *r = rogue(why, len);
	if (!r)
		return -1;
	char err[160];
	if (inject_strike(hgate_handle(r), FAULT_PF, err, sizeof err) < 0)
		return htest_fail(why, len, "cannot strike rogue: %s", err);
	inject_cancel();
	uint64_t word = *(volatile uint64_t *)MAPLE_TRUSTED_VA;
	const long a[4] = {ROGUE_A5_FAULT_ENTRY_RETRY, (long)entry_keyed_fault_wrpkru,
			   (long)MAPLE_TRUSTED_VA,
			   (long)(entry_level_stack(0) + ENTRY_SIGSTACK_BYTES)};
	char got[WHY], want[WHY];
	htest_outcome(r, r->methods[Rogue_run_METHOD], a, got, sizeof got);
	snprintf(want, sizeof want,
		 "^rogue failed: SIGSEGV \\(SEGV_PKUERR, key %d\\) at rogue\\+0x[0-9a-f]+, "
		 "address 0x[0-9a-f]+$",
		 PKEY_KERNEL);
	if (!htest_matches(want, got) || *(volatile uint64_t *)MAPLE_TRUSTED_VA != word)
		return htest_fail(
			why, len, "'%.300s', TRUSTED word %s; want /%s/, it unchanged", got,
			*(volatile uint64_t *)MAPLE_TRUSTED_VA != word ? "written" : "kept", want);
	return htest_leak_check(why, len);
}

/* ---- loops outside the callee's own code: the watchdog's signal ---- */

/* The first `jmp *%reg` (not %rsp or %rbp) in the executable mapping that
 * holds va, as bytes (any such pair decodes as one from there, the VM's
 * gate_indirect_jump): with every register holding its own address, a loop
 * of one instruction that touches no memory. 0 if there is none. */
static uint64_t indirect_jump_near(uint64_t va)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512], perms[5];
	unsigned long lo = 0, hi = 0;
	int found = 0;
	while (f && !found && fgets(line, sizeof line, f))
		found = sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && va >= lo && va < hi &&
			perms[2] == 'x';
	if (f)
		fclose(f);
	for (const uint8_t *p = (const uint8_t *)lo; found && (uint64_t)p + 1 < hi; p++)
		if (p[0] == 0xff && (p[1] & 0xf8) == 0xe0 && p[1] != 0xe4 && p[1] != 0xe5)
			return (uint64_t)p;
	return 0;
}

/* rogue.run(number, target, a2, a3) must time out after at least floor:
 * the VM's outcome, and rogue destroyed with nothing left counted in it. */
static int loop_times_out(struct hosted_domain *r, long number, uint64_t target, uint64_t a2,
			  long a3, uint64_t floor, char *why, size_t len)
{
	if (!target)
		return htest_fail(why, len, "no loop to aim rogue at");
	if (htest_capture_begin(why, len) < 0)
		return -1;
	char got[WHY];
	uint64_t ns = run4(r, number, (long)target, (long)a2, a3, got, sizeof got);
	htest_capture_end();
	if (strcmp(got, "rogue failed: " TIMED_OUT))
		return htest_fail(why, len, "'%.200s'; want 'rogue failed: %s'", got, TIMED_OUT);
	return timed_out_after(r, ns, floor, why, len);
}

/* Rogue case 28, the VM's gate_a_loop_through_the_gate_is_unwound_by_the_
 * watchdog: rogue returns into the gate's entry (gate_entry_raise) from
 * gate_resume on a frame that leads back to itself (through two
 * instructions of its own a pass, a3: the gate clears vector state here),
 * half of each pass with the gate's rights. The watchdog fails it and unwinds it once a signal
 * finds it lowered. At the budget: a signal in rogue's two instructions gets no gate grace (seen
 * once in the PKU guest, at 250 ms), so the VM's watchdog_catches_a_loop_inside_the_gate (twice the
 * budget) is not asserted of this loop. */
static int run_gate_loop(char *why, size_t len)
{
	struct hosted_domain *r = rogue(why, len);
	uint64_t raise = r ? htest_gate_sym("gate_entry_raise", why, len) : 0;
	uint64_t resume = raise ? htest_gate_sym("gate_resume", why, len) : 0;
	if (!resume)
		return -1;
	if (loop_times_out(r, ROGUE_GATE_LOOP, raise, resume, 1, BUDGET_NS, why, len) < 0)
		return -1;
	return htest_leak_check(why, len);
}

/*
 * The gate's grace, the VM's watchdog_catches_a_loop_inside_the_gate
 * (watchdog.c's hwatch_judge: a thread in the gate page gets twice the
 * budget): rogue jumps, with its own rights and every register the
 * target, to gate_failed_wait, the gate's own loop for a failed callee
 * (SYS_NULL, again and again), so it never leaves the gate page: the
 * watchdog's signal, blocked in the SIGSYS handler, lands on the gate's
 * next instruction each time. It fails as timed out in [400 ms, 2 s), not
 * at the budget, and is unwound (it holds its own rights there).
 */
static int run_gate_grace(char *why, size_t len)
{
	struct hosted_domain *r = rogue(why, len);
	uint64_t wait = r ? htest_gate_sym("gate_failed_wait", why, len) : 0;
	if (!wait || loop_times_out(r, ROGUE_W_GATE_SPIN, wait, 0, 0, 2 * BUDGET_NS, why, len) < 0)
		return -1;
	return htest_leak_check(why, len);
}

/* A callee that jumps into a loop in another domain's code (fetch is not
 * governed by keys) still runs as itself: it fails at the budget, and the
 * domain whose code it ran is untouched. */
static int run_other_domain_loop(char *why, size_t len, long number)
{
	struct hosted_domain *r = rogue(why, len);
	struct hosted_domain *other = r ? rogue(why, len) : NULL;
	if (!other || loop_times_out(r, number, indirect_jump_near(other->entry), 0, 0, BUDGET_NS,
				     why, len) < 0)
		return -1;
	char got[WHY], want[64];
	run(other, ROGUE_W_BUSY, 0, got, sizeof got);
	snprintf(want, sizeof want, "rogue returned %d", ROGUE_W_DONE);
	if (strcmp(got, want) || hgate_state(other) != GATE_DOMAIN_RUNNING)
		return htest_fail(why, len, "the other rogue: '%.200s' (state %lu); want '%s'", got,
				  (unsigned long)hgate_state(other), want);
	return htest_leak_check(why, len);
}

static int run_jump_loop(char *why, size_t len)
{
	return run_other_domain_loop(why, len, ROGUE_W_GATE_SPIN);
}

/* Rogue case 280, bench/faults' finding 8: a far return (`lretq`) into
 * code not the callee's, which loops there. */
static int run_far_return_loop(char *why, size_t len)
{
	return run_other_domain_loop(why, len, ROGUE_WS_FAR_RETURN_LOOP);
}

/* A loop in the runtime's own code, jumped to with the callee's rights. */
static int run_runtime_loop(char *why, size_t len)
{
	struct hosted_domain *r = rogue(why, len);
	if (!r || loop_times_out(r, ROGUE_W_GATE_SPIN,
				 indirect_jump_near((uint64_t)(uintptr_t)hwatch_judge), 0, 0,
				 BUDGET_NS, why, len) < 0)
		return -1;
	return htest_leak_check(why, len);
}

/* The calls the race test's helper saw, and its orders. */
static struct {
	unsigned slot; /* the test's thread's */
	struct watchdog_call first, third;
	int aimed; /* signals aimed during the second call */
} race;

/* The innermost call of the test's thread now, or a zeroed one between
 * calls. */
static struct watchdog_call innermost(void)
{
	uint64_t tt_va;
	const struct gate_thread_trusted *tt = hgate_slot_conts(race.slot, &tt_va);
	struct watchdog_call c = {0};
	if (tt)
		watchdog_innermost_call(tt, tt_va, &c);
	return c;
}

/* Wait up to 2 s for a call other than `was` (and `nor`) to be the
 * innermost; a zeroed one if none came. */
static struct watchdog_call next_call(const struct watchdog_call *was,
				      const struct watchdog_call *nor)
{
	struct watchdog_call c = {0};
	for (uint64_t until = now_ns() + TIMEOUT_BOUND; now_ns() < until; usleep(1000)) {
		c = innermost();
		if (c.callee && c.start_tsc != was->start_tsc && c.start_tsc != nor->start_tsc)
			return c;
	}
	return (struct watchdog_call){0};
}

/* The helper: note the first call (200 ms); during the second (500 ms),
 * aim the watchdog's signal at the first, returned, three times with a
 * 10 ms budget, past which the second runs; during the third, aim it at
 * the third itself. The calls are long so that a loaded host leaves the
 * helper time for all that. */
static void *race_helper(void *unused)
{
	(void)unused;

	const struct watchdog_call none = {0};
	race.first = next_call(&none, &none);
	struct watchdog_call second = next_call(&race.first, &none);
	for (int i = 0; second.callee && i < 3; i++) {
		usleep(20000);
		race.aimed += hwatch_aim(race.slot, &race.first, 10) == 0;
	}
	race.third = next_call(&race.first, &second);
	usleep(20000);
	if (race.third.callee)
		hwatch_aim(race.slot, &race.third, 10);
	return NULL;
}

/*
 * A call that returns just as the watchdog fires is not failed: the signal
 * aimed at it lands in the runtime (sent after it returned: pending until
 * the next upcall opens it) or in the next call, which is past the aimed
 * budget itself, and fails nothing (THE INVARIANT of hwatch_judge: only the
 * aimed call, still the innermost). The third call, aimed at while it runs,
 * fails: the same signal does fail the call it names. The watchdog's own
 * judging is off meanwhile (budget 0); the helper thread aims as it would.
 */
static int run_returned_call(char *why, size_t len)
{
	struct hosted_domain *r = rogue(why, len);
	if (!r)
		return -1;
	hwatch_set_budget_ms(0);
	race.slot = hgate_thread_slot();
	pthread_t t;
	if (pthread_create(&t, NULL, race_helper, NULL))
		return htest_fail(why, len, "cannot start the helper thread");
	char got[3][WHY], want[64];
	run(r, ROGUE_W_BUSY, (long)BUDGET_NS, got[0], sizeof got[0]);
	/* Aimed at the first call, which has returned: pending in the runtime,
	 * taken where the next upcall opens the signal. */
	for (uint64_t until = now_ns() + TIMEOUT_BOUND; !race.first.callee && now_ns() < until;)
		usleep(1000);
	int pending = hwatch_aim(race.slot, &race.first, 10);
	run(r, ROGUE_W_BUSY, (long)(5 * BUDGET_NS / 2), got[1], sizeof got[1]);
	int aimed = race.aimed;
	if (htest_capture_begin(why, len) < 0)
		return -1;
	run(r, ROGUE_W_BUSY, (long)TIMEOUT_BOUND, got[2], sizeof got[2]);
	htest_capture_end();
	pthread_join(t, NULL);
	snprintf(want, sizeof want, "rogue returned %d", ROGUE_W_DONE);
	if (strcmp(got[0], want) || strcmp(got[1], want) || pending || aimed != 3)
		return htest_fail(why, len,
				  "'%.200s' then '%.200s' (signals aimed at the first call: %d "
				  "between, %d during the second); want '%s' twice, 0 and 3",
				  got[0], got[1], pending, aimed, want);
	char line[128];
	snprintf(line, sizeof line,
		 "domain: rogue \\(id %u\\) failed: watchdog: a call ran longer than 10 ms", r->id);
	if (strcmp(got[2], "rogue failed: watchdog: a call ran longer than 10 ms") ||
	    r->fail_errno != MAPLE_ETIMEDOUT || !htest_has_line(line))
		return htest_fail(why, len,
				  "the third call: '%.200s', errno %d, the VM's line %s; want "
				  "'rogue failed: watchdog: a call ran longer than 10 ms', %d",
				  got[2], r->fail_errno,
				  htest_has_line(line) ? "logged" : "missing", MAPLE_ETIMEDOUT);
	return htest_leak_check(why, len);
}

/* What the next test's helper saw: the domain thread's call and slot, the
 * signals aimed, the callee's state after them. */
static struct {
	const struct hosted_domain *callee;
	struct watchdog_call call;
	unsigned slot; /* the domain thread's */
	int found;     /* call and slot are set */
	int aimed;
	int busy_done; /* the test's thread is back from b's call */
	uint64_t state;
} cross;

/* Once a domain thread (a slot not the test's) is in a call, aim at its
 * thread a call that is not its own (its call's start a tick earlier) and
 * then at the test's thread its call, three times, 20 ms apart, each with
 * a 10 ms budget, past which its call runs; once the test's thread is
 * back from b's call, note the callee's state and give the watchdog its
 * budget back. Not after a fixed 100 ms, as before: then b's 100 ms call
 * ran under the 200 ms budget too, and on a loaded host (four busy loops,
 * this process niced) its thread, not run past the call's end, was timed
 * out in 8 of 20 runs: 'rogue failed: watchdog: a call ran longer than
 * 200 ms'. What the test is about, b's call judged by another slot's
 * 10 ms aim, does not need the budget. */
static void *cross_helper(void *unused)
{
	(void)unused;
	for (uint64_t until = now_ns() + TIMEOUT_BOUND; !cross.call.callee && now_ns() < until;
	     usleep(1000))
		for (unsigned slot = 0; slot < GATE_MAX_THREADS && !cross.call.callee; slot++) {
			uint64_t tt_va;
			const struct gate_thread_trusted *tt = hgate_slot_conts(slot, &tt_va);
			struct watchdog_call c;
			if (slot != race.slot && tt && watchdog_innermost_call(tt, tt_va, &c)) {
				cross.call = c;
				cross.slot = slot;
				__atomic_store_n(&cross.found, 1, __ATOMIC_RELEASE);
			}
		}
	struct watchdog_call not_its = {cross.call.callee, cross.call.start_tsc - 1};
	for (int i = 0; cross.call.callee && i < 3; i++) {
		usleep(20000);
		cross.aimed += hwatch_aim(cross.slot, &not_its, 10) == 0;
		cross.aimed += hwatch_aim(race.slot, &cross.call, 10) == 0;
	}
	for (uint64_t until = now_ns() + TIMEOUT_BOUND;
	     !__atomic_load_n(&cross.busy_done, __ATOMIC_ACQUIRE) && now_ns() < until;)
		usleep(1000);
	cross.state = hgate_state(cross.callee);
	hwatch_set_budget_ms(BUDGET_MS);
	return NULL;
}

/*
 * A signal aimed at one thread slot fails no call of another: a domain
 * thread of a calls the spinner's run(ROGUE_SPIN) (case 103) while the
 * watchdog's own judging is off (budget 0), and the test's thread calls
 * b's run(ROGUE_W_BUSY) for half the budget. The helper aims the signal at
 * the test's thread naming the domain thread's call, and at the domain
 * thread naming a call not its own, with a 10 ms budget the spinning call
 * is past: the spinner runs on, and b's call keeps its result (THE
 * INVARIANT of hwatch_judge: each thread judges its own slot's aim against
 * its own continuations). The test's thread takes its signals in b's
 * code, beside the spinning call, with and without keys. With the budget
 * back, the watchdog fails the spinner as the VM's (in [200 ms, 2 s)
 * of its start), and a hears -MAPLE_ETIMEDOUT from its thread's call.
 */
static int run_other_slots_call(char *why, size_t len)
{
	struct hosted_domain *a = rogue(why, len);
	struct hosted_domain *spinner = a ? rogue(why, len) : NULL;
	struct hosted_domain *b = spinner ? rogue(why, len) : NULL;
	if (!b || htest_capture_begin(why, len) < 0)
		return -1;
	hwatch_set_budget_ms(0);
	race.slot = hgate_thread_slot();
	cross.callee = spinner;
	pthread_t t;
	if (pthread_create(&t, NULL, cross_helper, NULL))
		return htest_fail(why, len, "cannot start the helper thread");
	char got[WHY], busy[WHY], want[64];
	uint64_t start = now_ns(); /* from before the thread starts: it runs at once */
	run(a, ROGUE_W_THREAD_CALL_SPIN, (long)hgate_handle(spinner), got, sizeof got);
	/* b's call, beside the spinning call once that is in progress. */
	for (uint64_t until = now_ns() + TIMEOUT_BOUND;
	     !__atomic_load_n(&cross.found, __ATOMIC_ACQUIRE) && now_ns() < until;)
		usleep(1000);
	run(b, ROGUE_W_BUSY, (long)(BUDGET_NS / 2), busy, sizeof busy);
	__atomic_store_n(&cross.busy_done, 1, __ATOMIC_RELEASE);
	unsigned ran = hsys_run_threads();
	uint64_t ns = now_ns() - start;
	htest_capture_end();
	pthread_join(t, NULL);
	snprintf(want, sizeof want, "rogue returned %d", ROGUE_W_DONE);
	if (strcmp(got, "rogue returned 1") || ran != 1 || cross.slot == race.slot ||
	    cross.aimed != 6 || cross.state != GATE_DOMAIN_RUNNING || strcmp(busy, want))
		return htest_fail(why, len,
				  "starting the thread: '%.200s', %u threads ran, its slot %u, %d "
				  "signals aimed, the spinner's state after them %lu, b's call "
				  "'%.200s'; want 'rogue returned 1', 1, not %u, 6, %d (running), "
				  "'%s'",
				  got, ran, cross.slot, cross.aimed, (unsigned long)cross.state,
				  busy, race.slot, GATE_DOMAIN_RUNNING, want);
	if (timed_out(spinner, ns, why, len) < 0)
		return -1;
	run(a, ROGUE_W_THREAD_RESULT, 0, got, sizeof got);
	snprintf(want, sizeof want, "rogue returned %d", -MAPLE_ETIMEDOUT);
	if (strcmp(got, want) || hgate_state(a) != GATE_DOMAIN_RUNNING)
		return htest_fail(why, len,
				  "the thread's call: '%.200s' (caller state %lu); want '%s', "
				  "the caller running",
				  got, (unsigned long)hgate_state(a), want);
	return htest_leak_check(why, len);
}

const struct hosted_named_test hosted_watch_tests[HOSTED_WATCH_TESTS] = {
	{"rogue-spin-is-failed-by-the-watchdog-with-etimedout", run_spin, NULL},
	{"watchdog-keeps-the-result-of-a-callee-in-time", run_in_time, NULL},
	{"watchdog-times-out-a-domain-threads-call-into-a-spinner", run_thread_call_spin, NULL},
	{"watchdog-times-out-a-domain-threads-call-into-a-sleeper", run_thread_call_sleeper, NULL},
	{"watchdog-fails-a-callee-asleep-in-the-kernel", run_asleep_in_the_kernel, NULL},
	{"watchdog-fails-a-callee-asleep-forever", run_asleep_forever, NULL},
	{"watchdog-gives-a-domain-threads-own-frame-no-deadline", run_thread_busy, NULL},
	{"watchdog-credits-a-timed-out-call-to-its-caller", run_caller_credited, NULL},
	{"rogue-forged-fault-frame-after-a-strike-keeps-its-rights", run_forged_retry, "isolation"},
	{"gate-a-loop-through-the-gate-is-unwound-by-the-watchdog", run_gate_loop, NULL},
	{"watchdog-gives-a-callee-looping-in-the-gate-twice-the-budget", run_gate_grace, NULL},
	{"watchdog-catches-a-callee-looping-in-another-domains-code", run_jump_loop, NULL},
	{"watchdog-catches-a-loop-after-a-far-return", run_far_return_loop, NULL},
	{"watchdog-catches-a-callee-looping-in-the-runtimes-code", run_runtime_loop, NULL},
	{"watchdog-signal-for-a-call-that-returned-fails-nothing", run_returned_call, NULL},
	{"watchdog-signal-aimed-at-one-thread-fails-no-other-threads-call", run_other_slots_call,
	 NULL},
};
