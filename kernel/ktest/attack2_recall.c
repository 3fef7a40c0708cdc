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
	/* The payer allocates r, recalls it and moves it to the holder. */
	long r = domain_call(payer, RrefEvil_run_WORD, EV_RECALL_LEND, (long)domain_handle(holder),
			     0, 0);
	/* The holder (as its code could, with SYS_RREF_ALLOC and
	 * SYS_RREF_NEST) fills r with as many RRefs as its own limit lets
	 * it pay for: more than the payer's limit. */
	uint64_t junk = holder->rref_limits.headers, nested = 0;
	for (uint64_t i = 0; r > 0 && i < junk; i++) {
		long j = rref_alloc(holder->id, &holder->rref_limits, EV_TYPE, 64);
		nested += j > 0 && rref_nest(holder->id, (uint64_t)j, (uint64_t)r) == 0;
	}
	uint64_t count_before, bytes_before, count_after, bytes_after;
	rref_domain_usage(pid, &count_before, &bytes_before);
	int destroyed = ktest_destroy(holder);
	long info = r > 0 ? rref_info(pid, (uint64_t)r) : 0;
	rref_domain_usage(pid, &count_after, &bytes_after);
	uint64_t live_after = live_rrefs() - live_before;
	KT_ASSERT_EQ(ktest_destroy(payer), 0);
	KT_ASSERT(r > 0);
	KT_ASSERT_EQ(nested, junk);
	KT_ASSERT(junk >= payer_limit);
	KT_ASSERT_EQ(count_before, 1);
	KT_ASSERT_EQ(bytes_before, 128);
	KT_ASSERT_EQ(destroyed, 0);
	/* r is back with its payer, lent to no one ... */
	KT_ASSERT_EQ(info, (long)pid);
	/* ... with what the dead holder paid for gone with the holder. */
	KT_ASSERT_EQ(count_after, 1);
	KT_ASSERT_EQ(bytes_after, 128);
	KT_ASSERT_EQ(live_after, 1);
}

/* Before the fix: the payer came out charged for 2049 RRefs (its limit is
 * 2048), all 2048 of the dead holder's nested in r. */
KTEST(attack2_recall_does_not_return_the_holders_rrefs)
{
	ktest_run_counted(t, "kt-attack2-recall", recall_with_junk, TEST_WAIT_NS);
}
