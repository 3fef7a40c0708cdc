/*
 * In-guest tests of the exchange heap under attack (domains/test/rrefs/evil.h):
 * nesting past the depth bound, reclaim of deep and wide trees, stale
 * handles after free and reallocation, a free racing a move between two
 * threads of one domain, rref_info on others' RRefs, and the per-domain
 * limits. Two instances of rref_evil run side by side; each test runs in
 * its own thread with frames, kernel heap and live RRefs checked back to
 * their starting counts (ktest/counted.h).
 */
#include <core/sched.h>
#include <core/time.h>
#include <domain/domain.h>
#include <ktest/counted.h>
#include <ktest/ktest.h>
#include <test/rrefs/evil.h>
#include <xheap/rref.h>

#define TEST_WAIT_NS 60000000000UL /* only stops a hang */
#define RACE_ROUNDS  5000
#define RACE_NS	     2000000000L
#define RACE_WAIT_NS 30000000000UL /* a host stalling one guest CPU slows the race */
#define RACE_POLL_NS 10000000UL
#define WIDE_LEAVES  500
#define NESTED_HELD  (RREF_MAX_LEVELS + 1 + 2 * WIDE_LEAVES)

struct evil {
	struct domain *one, *two;
};

static bool evil_create(struct ktest_ctx *t, struct evil *e)
{
	e->one = ktest_create(t, "rref_evil");
	e->two = e->one ? ktest_create(t, "rref_evil") : NULL;
	return e->two != NULL;
}

static void evil_destroy(struct ktest_ctx *t, struct evil *e)
{
	KT_ASSERT_EQ(ktest_destroy(e->one), 0);
	KT_ASSERT_EQ(ktest_destroy(e->two), 0);
}

static long run(struct evil *e, long which, long a, long b)
{
	return domain_call(e->one, RrefEvil_run_WORD, which, (long)domain_handle(e->two), a, b);
}

static uint64_t live_rrefs(void)
{
	struct rref_stats s;
	rref_get_stats(&s);
	return s.live;
}

/* Run case `which` and check that it passed and left its domain running. */
static void run_case(struct ktest_ctx *t, long which, long a, long b)
{
	struct evil e = {0};
	if (!evil_create(t, &e))
		return;
	long r = run(&e, which, a, b);
	bool running = e.one->state == DOMAIN_RUNNING;
	evil_destroy(t, &e);
	if (r != EV_PASSED)
		ktest_fail(t, __FILE__, __LINE__, "case %ld: rref_evil.run returned %ld", which, r);
	KT_ASSERT(running);
}

static void nesting_bound(struct ktest_ctx *t)
{
	run_case(t, EV_NEST_CHAIN, 0, 0);
	run_case(t, EV_NEST_WHOLE, 0, 0);
}

/* Chains built bottom-up and top-down stop after RREF_MAX_LEVELS - 1 nests
 * with -MAPLE_EDEPTH, merging two trees counts the child's whole subtree,
 * and freeing a full-depth tree is no kernel recursion (before: a chain of
 * 2000 and a #DF on the kernel stack's guard page). */
KTEST(rref_nesting_past_the_bound_is_edepth)
{
	ktest_run_counted(t, "kt-rref-nest", nesting_bound, TEST_WAIT_NS);
}

static void reclaim_trees(struct ktest_ctx *t)
{
	uint64_t before = live_rrefs();
	struct evil e = {0};
	if (!evil_create(t, &e))
		return;
	long r = run(&e, EV_KEEP_TREES, EV_CHAIN, WIDE_LEAVES);
	uint64_t held = live_rrefs() - before, count, bytes;
	rref_domain_usage(e.one->id, &count, &bytes);
	uint32_t id = e.one->id;
	KT_ASSERT_EQ(ktest_destroy(e.one), 0);
	e.one = NULL;
	uint64_t after = live_rrefs() - before, count_after, bytes_after;
	rref_domain_usage(id, &count_after, &bytes_after);
	evil_destroy(t, &e);
	KT_ASSERT_EQ(r, EV_PASSED);
	KT_ASSERT_EQ(held, NESTED_HELD);
	KT_ASSERT_EQ(count, NESTED_HELD);
	KT_ASSERT_EQ(bytes, NESTED_HELD * 128);
	KT_ASSERT_EQ(after, 0);
	KT_ASSERT_EQ(count_after, 0);
	KT_ASSERT_EQ(bytes_after, 0);
}

/* Destroying a domain that holds a chain as deep as nesting allows and a
 * tree of 2 * 500 RRefs below one root frees every one of them and its
 * charge (before: the 2000-deep chain's reclaim ended in a #DF). */
KTEST(rref_destroying_the_owner_of_deep_and_wide_trees_reclaims_them)
{
	ktest_run_counted(t, "kt-rref-reclaim", reclaim_trees, TEST_WAIT_NS);
}

static void stale_handles(struct ktest_ctx *t)
{
	run_case(t, EV_STALE, 0, 0);
}

/* A handle kept after free, its slot (and before, its header) taken by
 * the next allocation in this domain or the peer's: the syscalls answer
 * -MAPLE_EINVAL (it names no live RRef), the gate -MAPLE_EPERM (not the
 * caller's to move or lend), and the peer's new RRef stays its own. */
KTEST(rref_stale_handle_after_free_and_realloc_is_refused)
{
	ktest_run_counted(t, "kt-rref-stale", stale_handles, TEST_WAIT_NS);
}

static long held[RREF_MAX];

static void reused_header(struct ktest_ctx *t)
{
	struct evil e = {0};
	if (!evil_create(t, &e))
		return;
	uint32_t id = e.one->id;
	const struct rref_limits unlimited = {.headers = RREF_MAX, .bytes = 1UL << 40};
	long old = rref_alloc(id, &unlimited, EV_TYPE, 64);
	KT_ASSERT(old > 0);
	KT_ASSERT_EQ(rref_free(id, (uint64_t)old), 0);
	/* Headers come back first in, first out: take every free one until
	 * the old header is reused, then the rest, until the machine says
	 * it has none left. */
	long n = 0, r, again = 0;
	while (n < RREF_MAX && (r = rref_alloc(id, &unlimited, EV_TYPE, 64)) > 0) {
		held[n++] = r;
		if (RREF_HANDLE_INDEX((uint64_t)r) == RREF_HANDLE_INDEX((uint64_t)old))
			again = r;
	}
	long refused = r;
	long stale_free = rref_free(id, (uint64_t)old), stale_info = rref_info(id, (uint64_t)old);
	long new_info = again ? rref_info(id, (uint64_t)again) : 0;
	for (long i = 0; i < n; i++)
		KT_ASSERT_EQ(rref_free(id, (uint64_t)held[i]), 0);
	evil_destroy(t, &e);
	KT_ASSERT_EQ(refused, -MAPLE_ENOMEM);
	KT_ASSERT(again > 0 && again != old);
	KT_ASSERT_EQ(RREF_HANDLE_GEN((uint64_t)again),
		     (RREF_HANDLE_GEN((uint64_t)old) + 1) & RREF_GEN_MASK);
	KT_ASSERT_EQ(stale_free, -MAPLE_EINVAL);
	KT_ASSERT_EQ(stale_info, -MAPLE_EINVAL);
	KT_ASSERT_EQ(new_info, (long)id);
}

/* The same header index reused carries the next generation, so the old
 * handle names nothing; and with every header taken, allocation is
 * -MAPLE_ENOMEM (the machine is out), not a quota error. */
KTEST(rref_reused_header_has_a_new_generation_and_running_out_is_enomem)
{
	ktest_run_counted(t, "kt-rref-gen", reused_header, TEST_WAIT_NS);
}

static void free_versus_move(struct ktest_ctx *t)
{
	struct evil e = {0};
	if (!evil_create(t, &e))
		return;
	long started = run(&e, EV_FREE_VS_MOVE, RACE_ROUNDS, RACE_NS), r = 0;
	uint64_t deadline = time_ns() + RACE_WAIT_NS;
	while (started == 0 && !(r = domain_call(e.one, RrefEvil_race_result_WORD, 0, 0, 0, 0)) &&
	       time_ns() < deadline)
		thread_sleep_ns(RACE_POLL_NS);
	bool running = e.one->state == DOMAIN_RUNNING;
	evil_destroy(t, &e);
	KT_ASSERT_EQ(started, 0);
	KT_ASSERT_EQ(r, EV_PASSED);
	KT_ASSERT(running);
}

/* Two threads of one domain: one moves an RRef to the peer while the other
 * frees it and allocates again, for 5000 rounds or 2 s. Every round exactly
 * one of them wins (moved and refused, or freed and refused), the
 * reallocation is the domain's own, and nothing faults in the gate (before:
 * #PF at 0x8 inside the gate, or the owner written onto the new RRef). */
KTEST(chaos_free_versus_move)
{
	ktest_run_counted(t, "kt-rref-race", free_versus_move, TEST_WAIT_NS);
}

static void info_permission(struct ktest_ctx *t)
{
	run_case(t, EV_INFO_PERM, 0, 0);
}

/* rref_info (and rref_bus) on another domain's RRef is -MAPLE_EPERM; a
 * borrower may ask about the RRef and its nested children during the call
 * only (before: the owner of any handle, to anyone). */
KTEST(rref_info_on_another_domains_rref_is_eperm)
{
	ktest_run_counted(t, "kt-rref-info", info_permission, TEST_WAIT_NS);
}

static void quota(struct ktest_ctx *t)
{
	struct evil e = {0};
	if (!evil_create(t, &e))
		return;
	long r =
		run(&e, EV_QUOTA, (long)e.one->rref_limits.headers, (long)e.one->rref_limits.bytes);
	long again = run(&e, EV_NEST_CHAIN, 0, 0); /* it runs on, and its heap works */
	uint64_t count, bytes;
	rref_domain_usage(e.one->id, &count, &bytes);
	bool running = e.one->state == DOMAIN_RUNNING;
	evil_destroy(t, &e);
	KT_ASSERT_EQ(r, EV_PASSED);
	KT_ASSERT_EQ(again, EV_PASSED);
	KT_ASSERT(running);
	KT_ASSERT_EQ(count, 0);
	KT_ASSERT_EQ(bytes, 0);
}

/* A domain allocates up to its header limit (2048 by default) and gets
 * -MAPLE_EQUOTA for the next, then the same for 1 MiB objects against its
 * byte limit (32 MiB), and keeps running (before: all 32767 headers). */
KTEST(rref_quota_is_equota_and_the_domain_runs_on)
{
	ktest_run_counted(t, "kt-rref-quota", quota, TEST_WAIT_NS);
}

static void charge_moves(struct ktest_ctx *t)
{
	struct evil e = {0};
	if (!evil_create(t, &e))
		return;
	/* The case leaves one 128-byte RRef that one allocated with two. */
	long r = run(&e, EV_INFO_PERM, 0, 0);
	uint32_t one = e.one->id, two = e.two->id;
	uint64_t one_count, one_bytes, two_count, two_bytes;
	rref_domain_usage(one, &one_count, &one_bytes);
	rref_domain_usage(two, &two_count, &two_bytes);
	KT_ASSERT_EQ(ktest_destroy(e.one), 0);
	e.one = NULL;
	uint64_t gone_count, gone_bytes, held_count, held_bytes;
	rref_domain_usage(one, &gone_count, &gone_bytes);
	rref_domain_usage(two, &held_count, &held_bytes);
	evil_destroy(t, &e);
	KT_ASSERT_EQ(r, EV_PASSED);
	KT_ASSERT_EQ(one_count, 1);
	KT_ASSERT_EQ(one_bytes, 128);
	KT_ASSERT_EQ(two_count, 0);
	KT_ASSERT_EQ(gone_count, 0);
	KT_ASSERT_EQ(gone_bytes, 0);
	KT_ASSERT_EQ(held_count, 1);
	KT_ASSERT_EQ(held_bytes, 128);
}

/* An RRef is charged to the domain that allocated it wherever it moves;
 * when that domain is destroyed, what others hold is charged to them, so
 * a reused domain id starts at zero and nothing goes uncounted. */
KTEST(rref_charge_passes_to_the_holder_when_the_allocator_is_destroyed)
{
	ktest_run_counted(t, "kt-rref-charge", charge_moves, TEST_WAIT_NS);
}
