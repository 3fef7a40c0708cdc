/*
 * Tests of the domain lifecycle (docs/isolation.md, "Lifecycle"), chaos
 * first: several kernel threads destroying one domain at once while a call
 * is inside it, and a shadow destroyed while it restarts its driver, or its
 * driver destroyed from outside while the shadow does the same. Exactly
 * one destroyer may tear a domain down; the others are refused with
 * -MAPLE_EBUSY (or find it gone, -MAPLE_ESRCH, if they arrive after the
 * winner finished). No panic, and domains, frames, kernel heap and RRefs
 * back to where they started. Then a destroy that times out: the domain
 * stays whole and failed, and a later destroy succeeds.
 */
#include <core/log.h>
#include <core/sched.h>
#include <core/time.h>
#include <domain/domain.h>
#include <domain/gate.h>
#include <idl/bdev_methods.h>
#include <ktest/counted.h>
#include <ktest/driver_faults.h>
#include <ktest/ktest.h>
#include <lib/string.h>
#include <test/rogue/cases.h>

#define DESTROY_ROUNDS 40 /* half with two destroyers, half with three */
#define SHADOW_ROUNDS  12 /* half destroy the shadow, half its driver */
#define MAX_DESTROYERS 3
#define ROUND_WAIT_NS  20000000000ULL /* one round; only stops a hang */
#define RUN_WAIT_NS    300000000000ULL
#define REAP_NS	       20000000 /* for exited threads to be reaped (ktest/counted.c) */

static struct race {
	struct domain *d; /* what the caller calls into: a reference it puts */
	uint64_t handle;  /* what the destroyers destroy */
	uint64_t method, a0, a1;
	uint32_t go;
	uint32_t done; /* threads finished */
	long call_result;
	long results[MAX_DESTROYERS];
	uint64_t calls_before; /* the domain's calls before the race's call */
} race;

struct named {
	const char *name;
	uint64_t handles[GATE_MAX_DOMAINS];
	unsigned n;
};

static void collect(struct domain *d, void *arg)
{
	struct named *l = arg;
	if (!strcmp(d->name, l->name))
		l->handles[l->n++] = domain_handle(d);
}

/* Destroy every domain called name, whatever its state; false if one refuses. */
static bool destroy_all(const char *name)
{
	struct named l = {.name = name};
	domain_foreach(collect, &l);
	bool ok = true;
	for (unsigned i = 0; i < l.n; i++)
		ok &= ktest_destroy_handle(l.handles[i]) == 0;
	return ok;
}

static void finished(void)
{
	__atomic_add_fetch(&race.done, 1, __ATOMIC_ACQ_REL);
}

/* A call into race.d that stays inside until it is unwound or returns. */
static void caller_thread(void *arg)
{
	(void)arg;
	race.call_result = domain_call(race.d, race.method, (long)race.a0, (long)race.a1, 0, 0);
	domain_put(race.d);
	finished();
}

static void destroyer_thread(void *arg)
{
	unsigned i = (unsigned)(uintptr_t)arg;
	while (!__atomic_load_n(&race.go, __ATOMIC_ACQUIRE))
		thread_yield();
	race.results[i] = ktest_destroy_handle(race.handle);
	finished();
}

static bool wait_until(bool (*cond)(void))
{
	uint64_t deadline = time_ns() + ROUND_WAIT_NS;
	while (!cond() && time_ns() < deadline)
		thread_sleep_ns(1000000);
	return cond();
}

/* The call has pushed its continuation and is entering or running in the
 * domain: `calls` counts it only then. (`active` counts it earlier, before
 * its state check and its stack: a destroy there refuses it with EDEAD.) */
static bool call_inside(void)
{
	return gate_domain_calls((uint32_t)(race.handle & HANDLE_ID_MASK)).in > race.calls_before;
}

static unsigned want_done;
static bool all_done(void)
{
	return __atomic_load_n(&race.done, __ATOMIC_ACQUIRE) == want_done;
}

/* Start the caller, with a reference to race.d (the destroyers may have
 * freed it by the time the caller runs). */
static bool start_call(struct ktest_ctx *t)
{
	race.d = domain_get((uint32_t)(race.handle & HANDLE_ID_MASK));
	if (!race.d || !thread_create("kt-caller", caller_thread, NULL)) {
		domain_put(race.d);
		ktest_fail(t, __FILE__, __LINE__, "no domain or no memory for a thread");
		return false;
	}
	return true;
}

static void concurrent_destroys(struct ktest_ctx *t)
{
	unsigned start = ktest_domains_alive(), busy = 0, late = 0;
	for (unsigned round = 0; round < DESTROY_ROUNDS; round++) {
		unsigned n = 2 + round % 2;
		char err[128];
		struct domain *rogue = domain_create("rogue", err, sizeof err);
		if (!rogue) {
			ktest_fail(t, __FILE__, __LINE__, "round %u: create rogue: %s", round, err);
			return;
		}
		race = (struct race){.handle = domain_handle(rogue),
				     .method = Rogue_run_METHOD,
				     .a0 = ROGUE_SPIN,
				     .calls_before = gate_domain_calls(rogue->id).in};
		want_done = n + 1;
		if (!start_call(t))
			return;
		if (!wait_until(call_inside)) { /* it spins there until it is failed */
			ktest_fail(t, __FILE__, __LINE__, "round %u: the call never entered rogue",
				   round);
			return;
		}
		for (unsigned i = 0; i < n; i++)
			if (!thread_create("kt-destroyer", destroyer_thread,
					   (void *)(uintptr_t)i)) {
				ktest_fail(t, __FILE__, __LINE__, "no memory for a thread");
				return;
			}
		__atomic_store_n(&race.go, 1, __ATOMIC_RELEASE);
		if (!wait_until(all_done)) {
			ktest_fail(t, __FILE__, __LINE__, "round %u: a destroyer hangs", round);
			return;
		}
		unsigned won = 0;
		for (unsigned i = 0; i < n; i++) {
			long r = race.results[i];
			won += r == 0;
			busy += r == -MAPLE_EBUSY;
			late += r == -MAPLE_ESRCH;
			if (r != 0 && r != -MAPLE_EBUSY && r != -MAPLE_ESRCH) {
				ktest_fail(t, __FILE__, __LINE__,
					   "round %u: destroyer %u returned %ld", round, i, r);
				return;
			}
		}
		if (won != 1 || race.call_result != -MAPLE_ECALLEE ||
		    ktest_domains_alive() != start) {
			ktest_fail(t, __FILE__, __LINE__,
				   "round %u, %u destroyers: %u returned 0, the call inside "
				   "returned %ld, %u domains (%u before)",
				   round, n, won, race.call_result, ktest_domains_alive(), start);
			return;
		}
	}
	klog("chaos: %u rounds: the losers got -EBUSY %u times, -ESRCH %u times", DESTROY_ROUNDS,
	     busy, late);
}

KTEST(chaos_concurrent_destroys)
{
	ktest_run_counted(t, "kt-chaos", concurrent_destroys, RUN_WAIT_NS);
}

/* Spin (not sleep: a tick is far coarser) for ns. */
static void delay_ns(uint64_t ns)
{
	uint64_t until = time_ns() + ns;
	while (time_ns() < until)
		__asm__ volatile("pause");
}

/*
 * One round: kill the shadow's membdev and call the shadow, which restarts
 * it; meanwhile destroy the shadow (even rounds) or the killed membdev
 * (odd rounds: a console `destroy` racing the shadow's own). The call
 * finds the driver dead (-MAPLE_EDEAD), so no part of it ran and the
 * shadow sends it to the new driver: it ends with a stats count, or, with
 * the shadow destroyed before it could, with the crash error.
 */
static bool shadow_round(struct ktest_ctx *t, unsigned round)
{
	bool kill_shadow = round % 2 == 0;
	char err[128];
	struct domain *shadow = domain_create("bdev_shadow", err, sizeof err);
	if (!shadow) {
		ktest_fail(t, __FILE__, __LINE__, "round %u: create bdev_shadow: %s", round, err);
		return false;
	}
	uint64_t sh = domain_handle(shadow), driver = driver_current("membdev");
	long init = domain_call(shadow, BlockDevice_init_METHOD, 1, 4096, 0, 0);
	if (init <= 0 || !driver || !driver_strike(driver, driver_fault(DRIVER_FAULTS - 1))) {
		ktest_fail(t, __FILE__, __LINE__, "round %u: init %ld, membdev %#lx", round, init,
			   driver);
		return false;
	}
	race = (struct race){.handle = sh, .method = BlockDevice_stats_METHOD};
	want_done = 1;
	if (!start_call(t))
		return false;
	delay_ns((round / 2 % 6) * 1000000);
	long r = ktest_destroy_handle(kill_shadow ? sh : driver);
	if (!wait_until(all_done)) {
		ktest_fail(t, __FILE__, __LINE__, "round %u: the call into the shadow hangs",
			   round);
		return false;
	}
	long call = race.call_result;
	long after = kill_shadow ? 0 : domain_call(shadow, BlockDevice_stats_METHOD, 0, 0, 0, 0);
	long gone = kill_shadow ? 0 : ktest_destroy_handle(sh);
	if (kill_shadow ? r != 0 || (call < 0 && call != -MAPLE_ECALLEE && call != -MAPLE_EDEAD)
			: (r != 0 && r != -MAPLE_EBUSY && r != -MAPLE_ESRCH) || call < 0 ||
				  after < 0 || gone != 0) {
		ktest_fail(t, __FILE__, __LINE__,
			   "round %u (destroying the %s): destroy %ld, the call %ld, the next "
			   "call %ld, the shadow's destroy %ld",
			   round, kill_shadow ? "shadow" : "driver", r, call, after, gone);
		return false;
	}
	if (!destroy_all("membdev")) {
		ktest_fail(t, __FILE__, __LINE__, "round %u: a membdev left over refused to go",
			   round);
		return false;
	}
	return true;
}

static void kill_shadow_while_driver_restarts(struct ktest_ctx *t)
{
	unsigned start = ktest_domains_alive();
	for (unsigned round = 0; round < SHADOW_ROUNDS; round++) {
		if (!shadow_round(t, round))
			return;
		if (ktest_domains_alive() != start) {
			ktest_fail(t, __FILE__, __LINE__, "round %u: %u domains, %u before", round,
				   ktest_domains_alive(), start);
			return;
		}
	}
}

/* The first round, outside the count, maps ramdisk0, whose frames stay;
 * its threads are given the time to be reaped before the count starts. */
KTEST(chaos_kill_shadow_while_driver_restarts)
{
	KT_ASSERT(shadow_round(t, 1));
	thread_sleep_ns(REAP_NS);
	ktest_run_counted(t, "kt-chaos", kill_shadow_while_driver_restarts, RUN_WAIT_NS);
}

static void destroy_once(void *arg)
{
	(void)arg;
	race.results[0] = ktest_destroy_handle(race.handle);
	finished();
}

static bool destroying(void)
{
	return domain_state_of(race.handle) == DOMAIN_DESTROYING;
}

/* A call that never leaves is stood in for by counting one in `active`
 * by hand (the gate's counter); the destroy must give up after its 2 s.
 * hello has no threads of its own, whose exit would free their stacks. */
static void timed_out_destroy(struct ktest_ctx *t)
{
	struct domain *d = ktest_create(t, "hello");
	if (!d)
		return;
	uint64_t h = domain_handle(d), pages = d->pages;
	uint64_t *active = &gate_domtab(d->id)->active;
	__atomic_add_fetch(active, 1, __ATOMIC_SEQ_CST);
	race = (struct race){.handle = h};
	want_done = 1;
	long second = 0;
	if (!thread_create("kt-destroyer", destroy_once, NULL))
		ktest_fail(t, __FILE__, __LINE__, "no memory for a thread");
	else if (!wait_until(destroying))
		ktest_fail(t, __FILE__, __LINE__, "the destroy never claimed hello");
	else
		second = ktest_destroy_handle(h); /* while the first one waits */
	bool done = wait_until(all_done);
	enum domain_state after = domain_state_of(h);
	uint64_t pages_after = d->pages;
	__atomic_sub_fetch(active, 1, __ATOMIC_SEQ_CST);
	long retry = ktest_destroy_handle(h);
	if (t->failed)
		return;
	KT_ASSERT(done);
	KT_ASSERT_EQ(second, -MAPLE_EBUSY);
	KT_ASSERT_EQ(race.results[0], -MAPLE_ETIMEDOUT);
	KT_ASSERT_EQ(after, DOMAIN_FAILING); /* still in the table, whole */
	KT_ASSERT_EQ(pages_after, pages);    /* nothing freed */
	KT_ASSERT_EQ(retry, 0);
	KT_ASSERT_EQ(domain_state_of(h), DOMAIN_GONE);
}

KTEST(lifecycle_destroy_that_times_out_stays_failed_and_can_be_retried)
{
	ktest_run_counted(t, "kt-lifecycle", timed_out_destroy, RUN_WAIT_NS);
}
