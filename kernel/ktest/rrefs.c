/*
 * In-guest tests of the exchange heap: ownership moves and borrows on
 * calls (rref_a drives rref_b, and through it rref_c, with the method
 * words an IDL proxy builds, domains/test/rrefs/rrefs.h), refusal of RRefs the
 * caller does not own, nested RRefs, and reclamation when a domain fails,
 * checked with the heap's counters.
 */
#include <domain/domain.h>
#include <domain/gate.h>
#include <ktest/counted.h>
#include <ktest/ktest.h>
#include <stddef.h>
#include <test/rrefs/rrefs.h>
#include <xheap/rref.h>

struct pair {
	struct domain *a, *b;
};

static bool pair_create(struct ktest_ctx *t, struct pair *p)
{
	p->b = ktest_create(t, "rref_b");
	p->a = p->b ? ktest_create(t, "rref_a") : NULL;
	return p->a != NULL;
}

static void pair_destroy(struct pair *p)
{
	ktest_destroy(p->a);
	ktest_destroy(p->b);
}

static uint64_t live_rrefs(void)
{
	struct rref_stats s;
	rref_get_stats(&s);
	return s.live;
}

static void run_case(struct ktest_ctx *t, long which)
{
	uint64_t before = live_rrefs();
	struct pair p = {0};
	if (!pair_create(t, &p))
		return;
	long r = domain_call(p.a, RrefA_run_METHOD, which, 0, 0, 0);
	pair_destroy(&p);
	if (r != 1)
		ktest_fail(t, __FILE__, __LINE__, "case %ld: rref_a.run returned %ld", which, r);
	else if (live_rrefs() != before)
		ktest_fail(t, __FILE__, __LINE__, "case %ld: %ld RRefs left behind", which,
			   (long)(live_rrefs() - before));
}

KTEST(rref_move_gives_the_callee_ownership)
{
	run_case(t, RCASE_MOVE);
}

KTEST(rref_gate_refuses_an_rref_the_caller_does_not_own)
{
	run_case(t, RCASE_NOT_OWNER);
}

KTEST(rref_borrow_keeps_ownership_and_ends_with_the_call)
{
	run_case(t, RCASE_BORROW);
}

KTEST(rref_borrowed_rref_can_be_lent_on_but_not_moved)
{
	run_case(t, RCASE_LEND_ON);
}

/*
 * rref_a lends an RRef to rref_b, which lends it on to rref_c; rref_c reads
 * and rewrites the payload (rref_a sees rref_c's value afterwards) but cannot
 * free it, rref_b's attempt to move it to rref_c is refused with
 * -MAPLE_EPERM before rref_c runs, and owner and borrow counts are checked
 * at every step (domains/test/rrefs/). rref_c is entered exactly once: by the
 * loan, never by the refused move.
 */
KTEST(rref_borrowed_rref_is_lent_on_across_three_domains)
{
	uint64_t before = live_rrefs();
	struct domain *c = ktest_create(t, "rref_c");
	if (!c)
		return;
	struct pair p = {0};
	if (!pair_create(t, &p)) {
		ktest_destroy(c);
		return;
	}
	uint64_t calls_before = gate_domain_calls(c->id).in;
	long r = domain_call(p.a, RrefA_run_METHOD, RCASE_LEND_ON_3, 0, 0, 0);
	uint64_t calls_c = gate_domain_calls(c->id).in - calls_before;
	pair_destroy(&p);
	KT_ASSERT_EQ(ktest_destroy(c), 0);
	if (r != 1) {
		ktest_fail(t, __FILE__, __LINE__,
			   "rref_a.run returned %ld (domains/test/rrefs/ name it)", r);
		return;
	}
	KT_ASSERT_EQ(calls_c, 1);
	KT_ASSERT_EQ(live_rrefs(), before);
}

KTEST(rref_result_moves_to_the_caller)
{
	run_case(t, RCASE_RESULT);
}

KTEST(rref_borrowed_rref_returns_when_the_borrower_crashes)
{
	run_case(t, RCASE_CRASH_BORROW);
}

KTEST(rref_nested_children_move_with_their_parent)
{
	run_case(t, RCASE_NESTED);
}

KTEST(rref_failed_domain_rrefs_are_reclaimed)
{
	uint64_t before = live_rrefs();
	struct pair p = {0};
	if (!pair_create(t, &p))
		return;
	long r = domain_call(p.a, RrefA_run_METHOD, RCASE_KEEP_SOME, 0, 0, 0);
	uint64_t held = live_rrefs() - before; /* 1 + a box of 4 + its box + 2, all rref_b's */
	domain_fail(p.b, "killed by the test");
	KT_ASSERT_EQ(ktest_destroy(p.b), 0);
	p.b = NULL;
	uint64_t after_b = live_rrefs() - before;
	pair_destroy(&p);
	KT_ASSERT_EQ(r, 1);
	KT_ASSERT_EQ(held, 8);
	KT_ASSERT_EQ(after_b, 0);
}
