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

/* The case client_case runs: ktest_run_counted takes the test alone. */
static long case_number;

/*
 * Rogue runs case_number against a new shadow; it must return 0, and the
 * membdev that served the first batch must be the one serving at the end.
 */
static void client_case(struct ktest_ctx *t)
{
	struct domain *shadow = ktest_create(t, "bdev_shadow");
	struct domain *rogue = shadow ? ktest_create(t, "rogue") : NULL;
	if (!rogue)
		goto out;
	uint64_t first = driver_current("membdev");
	uint64_t old = watchdog_set_budget_ms(BUDGET_MS);
	long r = domain_call(rogue, Rogue_run_METHOD, case_number, (long)domain_handle(shadow), 0,
			     0);
	watchdog_set_budget_ms(old);
	uint64_t now = driver_current("membdev");
	if (r != 0)
		ktest_fail(t, __FILE__, __LINE__, "rogue's case %ld returned %ld (%#lx), want 0",
			   case_number, r, (unsigned long)r);
	else if (!first || now != first)
		ktest_fail(t, __FILE__, __LINE__,
			   "membdev is handle %#lx after the case, want %#lx (no restart)",
			   (unsigned long)now, (unsigned long)first);
out:
	ktest_destroy(rogue);
	ktest_destroy(shadow);
	KT_ASSERT_EQ(driver_destroy_all("membdev"), 0);
}

/*
 * Rogue rewrites its own lent requests from two threads during each of its
 * submits (statuses back to 1, a byte of each read and write changed),
 * while a third thread writes and reads back blocks of its own
 * (ROGUE_B_REWRITE). The shadow hands membdev its own copy of each batch
 * and judges that, so the case returns 0 (every good batch done and read
 * back as written) and the membdev that served the first batch is the one
 * serving at the end.
 */
KTEST(recovery_a_client_rewriting_its_requests_blames_no_driver)
{
	case_number = ROGUE_B_REWRITE;
	if (shadowed_populate_ramdisk(t))
		ktest_run_counted(t, "kt-bdev-rules", client_case, RUN_WAIT_NS);
}

/*
 * Rogue names, in its requests, the buffers of the shadow's copies of its
 * other threads' batches, which it reads in the shared heap
 * (ROGUE_B_NAME_OWN): the shadow serves only RRefs lent to the call
 * (block.h, block_rref_lent), so each such request is -MAPLE_EINVAL, the
 * case returns 0, and the shadow and its membdev live on; maple-hosted's
 * twin is attack-a-client-naming-the-shadows-own-buffers-gets-einval-and-
 * the-shadow-lives, where before the fix the shadow was served them and
 * failed on a freed, unmapped buffer.
 */
KTEST(recovery_a_client_naming_the_shadows_own_buffers_gets_einval)
{
	case_number = ROGUE_B_NAME_OWN;
	if (shadowed_populate_ramdisk(t))
		ktest_run_counted(t, "kt-bdev-rules", client_case, RUN_WAIT_NS);
}
