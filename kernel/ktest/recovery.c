/*
 * In-guest recovery tests (docs/recovery.md). bdclient runs its
 * write-then-verify workload against membdev through the generated shadow
 * bdev_shadow while the test makes the current membdev instance take every
 * fault in turn (pf gp ud de pk, then kill), many times, each time waiting
 * for the shadow's replacement. The client must have seen no error and no
 * wrong block, and once everything is destroyed no frame and no RRef may be
 * left. The same runs against membdev_linger, which holds the request the
 * shadow retries inside each new instance, so a strike timed too early
 * would crash it again. The control runs the same client against membdev
 * with no shadow and requires that it does see the crash: the faults reach
 * the client unless the shadow hides them. And a driver that stores a write
 * over another block, behind a shadow without its mirror: that block reads
 * as -MAPLE_EIO, never as its wrong contents (hosted/tests_membdev.c's twin).
 */
#include <core/sched.h>
#include <core/time.h>
#include <domain/domain.h>
#include <ktest/counted.h>
#include <ktest/driver_faults.h>
#include <ktest/ktest.h>
#include <ktest/shadowed.h>
#include <test/bdclient/bdclient.h>

#define ROUNDS 10 /* of every fault: 60 crashes */

static void through_shadow(struct ktest_ctx *t, const char *shadow_image, const char *driver_image)
{
	const struct shadowed_run run = {.shadow_image = shadow_image,
					 .driver_image = driver_image,
					 .crashes = ROUNDS * DRIVER_FAULTS};
	shadowed_crash_driver(t, &run);
}

static void with_shadow(struct ktest_ctx *t)
{
	through_shadow(t, "bdev_shadow", "membdev");
}

/* Each new instance keeps the request the shadow retries inside itself for
 * 20 ms after doing its work: strikes must still wait until it returned. */
static void with_lingering_driver(struct ktest_ctx *t)
{
	through_shadow(t, "bdev_shadow_linger", "membdev_linger");
}

/* The control: no shadow, so the same crash must reach the client. */
static void without_shadow(struct ktest_ctx *t)
{
	struct domain *driver = ktest_create(t, "membdev");
	struct domain *client = driver ? ktest_create(t, "bdclient") : NULL;
	if (!client)
		goto out;
	uint64_t h = domain_handle(driver);
	long r = domain_call(client, BdClient_start_METHOD, SHADOWED_UNBOUNDED_OPS,
			     SHADOWED_WRITE_PERCENT, (long)h, 0);
	if (r != 0) {
		ktest_fail(t, __FILE__, __LINE__, "bdclient.start: %ld", r);
		goto out;
	}
	uint64_t deadline = time_ns() + SHADOWED_FAULT_WAIT_NS;
	while (shadowed_stat(client, BDC_OPS) == 0 && time_ns() < deadline)
		thread_sleep_ns(2000000);
	driver_strike(h, driver_fault(0));
	while (driver->state == DOMAIN_RUNNING && time_ns() < deadline)
		thread_sleep_ns(2000000);
	if (driver->state == DOMAIN_RUNNING || !shadowed_finish(client)) {
		ktest_fail(t, __FILE__, __LINE__, "membdev did not crash, or the client hangs");
		goto out;
	}
	long errors = shadowed_stat(client, BDC_ERRORS),
	     last = shadowed_stat(client, BDC_LAST_ERROR);
	if (!errors || (last != -MAPLE_ECALLEE && last != -MAPLE_EDEAD))
		ktest_fail(t, __FILE__, __LINE__, "without a shadow: %ld errors, the last %ld",
			   errors, last);
	else if (client->state != DOMAIN_RUNNING || shadowed_stat(client, BDC_LOST))
		ktest_fail(t, __FILE__, __LINE__, "the client failed or misread blocks");
out:
	ktest_destroy(client);
	ktest_destroy(driver);
}

/*
 * membdev_misplacing stores each instance's 321st write over the block
 * before it, behind bdev_shadow_nomirror (its checks' mirror refused, as on
 * a device over 16 MiB): in bdclient's sweep, blocks 319, 639 and 959. Each
 * write is redone; each block written over can only fail its read with
 * -MAPLE_EIO. The client must count exactly those 3 errors, no wrong and no
 * unverifiable block, every other block verified. The lines are checked by
 * the hosted twin (recovery-without-the-mirror-a-block-overwritten-at-rest-
 * reads-as-eio), the same images.
 */
static void without_mirror(struct ktest_ctx *t)
{
	enum { LOST = 3 };
	struct domain *shadow = ktest_create(t, "bdev_shadow_nomirror");
	struct domain *client = shadow ? ktest_create(t, "bdclient") : NULL;
	long r = client ? domain_call(client, BdClient_start_METHOD, 0, SHADOWED_WRITE_PERCENT,
				      (long)domain_handle(shadow), 0)
			: 0;
	if (r != 0)
		ktest_fail(t, __FILE__, __LINE__, "bdclient.start: %ld", r);
	if (!client || r != 0)
		goto out;
	uint64_t deadline = time_ns() + SHADOWED_RUN_WAIT_NS;
	while (shadowed_stat(client, BDC_RUNNING) == 1 && time_ns() < deadline)
		thread_sleep_ns(10000000);
	long errors = shadowed_stat(client, BDC_ERRORS),
	     last = shadowed_stat(client, BDC_LAST_ERROR);
	long lost = shadowed_stat(client, BDC_LOST),
	     unverified = shadowed_stat(client, BDC_UNVERIFIED);
	long verified = shadowed_stat(client, BDC_VERIFIED);
	if (shadowed_stat(client, BDC_RUNNING) != 0)
		ktest_fail(t, __FILE__, __LINE__, "the sweep did not end");
	else if (errors != LOST || last != -MAPLE_EIO || lost || unverified ||
		 verified != BDC_BLOCKS - LOST)
		ktest_fail(t, __FILE__, __LINE__,
			   "%ld errors (last %ld), %ld wrong blocks, %ld unverifiable, %ld "
			   "verified; want %d errors (last %d), 0, 0, %d",
			   errors, last, lost, unverified, verified, LOST, -MAPLE_EIO,
			   BDC_BLOCKS - LOST);
out:
	ktest_destroy(client);
	ktest_destroy(shadow);
	ktest_destroy_handle(driver_current("membdev_misplacing"));
}

/* The body in its own thread, checked for leaks (ktest/counted.h), once the
 * ramdisk exists: its memory is the device's for good, not a leak. */
static void run_counted(struct ktest_ctx *t, void (*fn)(struct ktest_ctx *t))
{
	if (shadowed_populate_ramdisk(t))
		ktest_run_counted(t, "kt-recovery", fn,
				  SHADOWED_RUN_WAIT_NS +
					  SHADOWED_FAULT_WAIT_NS * ROUNDS * DRIVER_FAULTS);
}

KTEST(recovery_shadow_hides_driver_crashes_without_losing_data)
{
	run_counted(t, with_shadow);
}

/*
 * The window behind the recovery test's rare "1 errors (last -200)" under
 * load (docs/recovery.md, "Striking a driver"), held open every time: a
 * strike on an instance that is still inside the retried request crashes
 * that request again, and four in a row reach the client.
 */
KTEST(recovery_strikes_spare_the_request_being_retried)
{
	run_counted(t, with_lingering_driver);
}

KTEST(recovery_without_a_shadow_the_client_sees_the_crash)
{
	run_counted(t, without_shadow);
}

KTEST(recovery_without_the_mirror_a_block_overwritten_at_rest_reads_as_eio)
{
	run_counted(t, without_mirror);
}
