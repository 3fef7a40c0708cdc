/*
 * In-guest tests of a client that breaks a batch's rules against
 * bdev_shadow and its end-to-end checks (drivers/block/bdev_shadow/
 * bdev_check.c; docs/recovery.md, "End-to-end integrity"): rogue, as a
 * client, runs its case of domains/test/rogue/blocks_cases.h against the
 * shadow, as hosted/tests_bdev_rules.c does in maple-hosted. The shadow's
 * membdev must serve throughout (no instance blamed and replaced), with no
 * leaks (ktest_run_counted).
 */
#include <domain/domain.h>
#include <domain/watchdog.h>
#include <ktest/counted.h>
#include <ktest/driver_faults.h>
#include <ktest/ktest.h>
#include <ktest/shadowed.h>
#include <test/rogue/blocks_cases.h>
#include <test/rogue/cases.h>

#define RUN_WAIT_NS 120000000000ULL /* the case runs 300 ms at least; TCG is slow */
/* The watchdog's budget for rogue's call meanwhile: the case is one call
 * of 300 ms at least (700 ms under TCG here), longer than the default
 * 1000 ms on a loaded host; a hang still ends. */
#define BUDGET_MS 30000

/*
 * Rogue rewrites its own lent requests from two threads during each of its
 * submits (statuses back to 1, a byte of each read and write changed),
 * while a third thread writes and reads back blocks of its own
 * (ROGUE_B_REWRITE). The shadow hands membdev its own copy of each batch
 * and judges that, so the case returns 0 (every good batch done and read
 * back as written) and the membdev that served the first batch is the one
 * serving at the end.
 */
static void rewriting_client(struct ktest_ctx *t)
{
	struct domain *shadow = ktest_create(t, "bdev_shadow");
	struct domain *rogue = shadow ? ktest_create(t, "rogue") : NULL;
	if (!rogue)
		goto out;
	uint64_t first = driver_current("membdev");
	uint64_t old = watchdog_set_budget_ms(BUDGET_MS);
	long r = domain_call(rogue, Rogue_run_METHOD, ROGUE_B_REWRITE, (long)domain_handle(shadow),
			     0, 0);
	watchdog_set_budget_ms(old);
	uint64_t now = driver_current("membdev");
	if (r != 0)
		ktest_fail(t, __FILE__, __LINE__, "rogue's case %d returned %ld (%#lx), want 0",
			   ROGUE_B_REWRITE, r, (unsigned long)r);
	else if (!first || now != first)
		ktest_fail(t, __FILE__, __LINE__,
			   "membdev is handle %#lx after the case, want %#lx (no restart)",
			   (unsigned long)now, (unsigned long)first);
out:
	ktest_destroy(rogue);
	ktest_destroy(shadow);
	KT_ASSERT_EQ(driver_destroy_all("membdev"), 0);
}

KTEST(recovery_a_client_rewriting_its_requests_blames_no_driver)
{
	if (shadowed_populate_ramdisk(t))
		ktest_run_counted(t, "kt-bdev-rules", rewriting_client, RUN_WAIT_NS);
}
