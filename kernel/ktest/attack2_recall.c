/*
 * SYS_RREF_RECALL against a holder that abuses it: the holder of a
 * recalled RRef nests RRefs of its own (which it pays for) into it and
 * dies. The recall gives the payer back what it paid for; it must not
 * also hand the payer the dead holder's charges, past the payer's limits
 * (a driver that crashes itself again and again would otherwise pile up
 * headers on its client until the heap is out of them for everyone).
 */
#include <domain/domain.h>
#include <ktest/counted.h>
#include <ktest/ktest.h>
#include <test/rrefs/evil.h>
#include <xheap/rref.h>

#define TEST_WAIT_NS 60000000000UL /* only stops a hang */

static uint64_t live_rrefs(void)
{
	struct rref_stats s;
	rref_get_stats(&s);
	return s.live;
}

/* A new RRef the holder pays for, nested in parent: 1, or 0 if refused. */
static uint64_t junk_into(struct domain *holder, long parent)
{
	long j = rref_alloc(holder->id, &holder->rref_limits, EV_TYPE, 64);
	return j > 0 && parent > 0 && rref_nest(holder->id, (uint64_t)j, (uint64_t)parent) == 0;
}

static void recall_with_junk(struct ktest_ctx *t)
{
	uint64_t live_before = live_rrefs();
	struct domain *payer = ktest_create(t, "rref_evil");
	struct domain *holder = payer ? ktest_create(t, "rref_evil") : NULL;
	if (!holder) {
		ktest_destroy(payer);
		return;
	}
	uint32_t pid = payer->id;
	uint64_t payer_limit = payer->rref_limits.headers;
	/* The payer moves k (not recalled) and r (recalled) to the holder. */
	long k = domain_call(payer, RrefEvil_run_WORD, EV_RECALL_LEND, (long)domain_handle(holder),
			     1, 0);
	long r = domain_call(payer, RrefEvil_run_WORD, EV_RECALL_LEND, (long)domain_handle(holder),
			     0, 0);
	/* The holder (as its code could, with SYS_RREF_ALLOC and
	 * SYS_RREF_NEST) builds r -> { junk..., k -> { j1 -> j2 } }: RRefs it
	 * pays for around and below one the payer pays for, as many as its
	 * own limit allows, more than the payer's limit. */
	long j1 = rref_alloc(holder->id, &holder->rref_limits, EV_TYPE, 64);
	uint64_t nested = j1 > 0 && k > 0 && rref_nest(holder->id, (uint64_t)j1, (uint64_t)k) == 0;
	nested += junk_into(holder, j1);
	nested += k > 0 && r > 0 && rref_nest(holder->id, (uint64_t)k, (uint64_t)r) == 0;
	uint64_t junk = holder->rref_limits.headers - 2;
	for (uint64_t i = 0; i < junk; i++)
		nested += junk_into(holder, r);
	uint64_t count_before, bytes_before, count_after, bytes_after;
	rref_domain_usage(pid, &count_before, &bytes_before);
	int destroyed = ktest_destroy(holder);
	long info_r = r > 0 ? rref_info(pid, (uint64_t)r) : 0;
	long info_k = k > 0 ? rref_info(pid, (uint64_t)k) : 0;
	rref_domain_usage(pid, &count_after, &bytes_after);
	uint64_t live_after = live_rrefs() - live_before;
	/* k still nested in r: unnesting it is the payer's again. */
	long unnest_k = k > 0 ? rref_unnest(pid, (uint64_t)k) : 0;
	KT_ASSERT_EQ(ktest_destroy(payer), 0);
	KT_ASSERT(k > 0);
	KT_ASSERT(r > 0);
	KT_ASSERT_EQ(nested, junk + 3);
	KT_ASSERT(2 + 2 + junk > payer_limit); /* r, k, j1, j2 and the junk */
	KT_ASSERT_EQ(count_before, 2);
	KT_ASSERT_EQ(bytes_before, 256);
	KT_ASSERT_EQ(destroyed, 0);
	/* r is back with its payer, lent to no one, k still in it ... */
	KT_ASSERT_EQ(info_r, (long)pid);
	KT_ASSERT_EQ(info_k, (long)pid);
	KT_ASSERT_EQ(unnest_k, 0);
	/* ... and what the dead holder paid for is gone with the holder. */
	KT_ASSERT_EQ(count_after, 2);
	KT_ASSERT_EQ(bytes_after, 256);
	KT_ASSERT_EQ(live_after, 2);
}

/* Before the fix: the payer came out charged for 2050 RRefs (its limit is
 * 2048): r, k and the 2048 of the dead holder nested in them. */
KTEST(attack2_recall_does_not_return_the_holders_rrefs)
{
	ktest_run_counted(t, "kt-attack2-recall", recall_with_junk, TEST_WAIT_NS);
}
