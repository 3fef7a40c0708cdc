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
 * of 300 ms at least (700 ms under TCG here; ROGUE_B_BUFSWAP's BUFSWAP_MS),
 * longer than the default 1000 ms on a loaded host; a hang still ends. */
#define BUDGET_MS 30000
/* ROGUE_B_BUFSWAP's time here: the race is hit more slowly under TCG. */
#define BUFSWAP_MS 15000

/* The case client_case runs: ktest_run_counted takes the test alone. */
static struct {
	const char *shadow; /* the shadow's image */
	const char *driver; /* the driver it creates */
	long number;	    /* rogue's case */
	long a2;	    /* its third argument */
} run;

/*
 * Rogue runs case run.number against a new run.shadow; it must return 0,
 * and the run.driver that served the first batch must be the one serving
 * at the end.
 */
static void client_case(struct ktest_ctx *t)
{
	struct domain *shadow = ktest_create(t, run.shadow);
	struct domain *rogue = shadow ? ktest_create(t, "rogue") : NULL;
	if (!rogue)
		goto out;
	uint64_t first = driver_current(run.driver);
	uint64_t old = watchdog_set_budget_ms(BUDGET_MS);
	long r = domain_call(rogue, Rogue_run_METHOD, run.number, (long)domain_handle(shadow),
			     run.a2, 0);
	watchdog_set_budget_ms(old);
	uint64_t now = driver_current(run.driver);
	if (r != 0)
		ktest_fail(t, __FILE__, __LINE__, "rogue's case %ld returned %ld (%#lx), want 0",
			   run.number, r, (unsigned long)r);
	else if (!first || now != first)
		ktest_fail(t, __FILE__, __LINE__,
			   "%s is handle %#lx after the case, want %#lx (no restart)", run.driver,
			   (unsigned long)now, (unsigned long)first);
out:
	ktest_destroy(rogue);
	ktest_destroy(shadow);
	KT_ASSERT_EQ(driver_destroy_all(run.driver), 0);
}

/* client_case with case number (a2 its third argument) against shadow and driver. */
static void run_case(struct ktest_ctx *t, const char *shadow, const char *driver, long number,
		     long a2)
{
	run.shadow = shadow;
	run.driver = driver;
	run.number = number;
	run.a2 = a2;
	if (shadowed_populate_ramdisk(t))
		ktest_run_counted(t, "kt-bdev-rules", client_case, RUN_WAIT_NS);
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
	run_case(t, "bdev_shadow", "membdev", ROGUE_B_REWRITE, 0);
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
	run_case(t, "bdev_shadow", "membdev", ROGUE_B_NAME_OWN, 0);
}

/*
 * membdev_bufswap serves every request honestly and keeps a thread writing
 * the first request's buffer into the buf words of the later requests of
 * the shadow's copy of a batch between its calls, while rogue submits
 * batches of 32 two-block reads for BUFSWAP_MS (ROGUE_B_BUFSWAP; the
 * hosted test attack-a-driver-swapping-the-buf-words-of-the-shadows-
 * copies-frees-no-buffer-in-use, hosted/tests_bdev_rules.c, runs it 5 s).
 * The shadow gives those requests' buffers back by its own record
 * (bdev_check.c, set_put): the case returns 0 and the membdev_bufswap that
 * served the first batch serves the last. Its thread, still running when
 * the shadow is destroyed, may fault on the freed copies then (logged as
 * its own failure). Before (set_put unnested what the request's buf word
 * named, after writing it), the write landed between the two, the shadow
 * freed the first request's buffer and lent the freed handle:
 * `bdev_check: request 0 (block 0) is valid but got status -22`,
 * membdev_bufswap restarted, `rogue's case 452 returned 1048576
 * (0x100000)`: 3 of 5 runs of 5 s here (TCG, 2 CPUs, a loaded 2-core
 * host), and at BUFSWAP_MS 5 of 5, after 0.6 to 10.4 s. A race: a run
 * that missed the window would pass.
 */
KTEST(recovery_a_driver_swapping_the_buf_words_of_the_shadows_copies_frees_no_buffer_in_use)
{
	run_case(t, "bdev_shadow_bufswap", "membdev_bufswap", ROGUE_B_BUFSWAP, BUFSWAP_MS);
}
