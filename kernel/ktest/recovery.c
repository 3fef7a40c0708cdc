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
 * the client unless the shadow hides them.
 */
#include <arch/pc/layout.h>
#include <bdclient/bdclient.h>
#include <core/domain.h>
#include <core/driver_faults.h>
#include <core/ktest.h>
#include <core/rref.h>
#include <core/sched.h>
#include <core/time.h>
#include <ktest/counted.h>
#include <maple/frame.h>

#define ROUNDS	      10	/* of every fault: 60 crashes */
#define UNBOUNDED_OPS 100000000 /* the test stops the workload */
#define WRITE_PERCENT 50
#define FAULT_WAIT_NS 20000000000ULL  /* a crash and restart; only stops a hang */
#define RUN_WAIT_NS   300000000000ULL /* the verifying read-back; the same */
#define BDEV_INIT     0		      /* BlockDevice.init (domains/idl/bdev.idl) */
#define BDEV_STATS    2		      /* BlockDevice.stats: requests done since init */

static struct domain *create(struct ktest_ctx *t, const char *name)
{
	char err[128];
	struct domain *d = domain_create(name, err, sizeof err);
	if (!d)
		ktest_fail(t, __FILE__, __LINE__, "create %s: %s", name, err);
	return d;
}

static void destroy(struct domain *d)
{
	char err[96];
	if (d)
		domain_destroy(domain_handle(d), err, sizeof err);
}

static void destroy_handle(uint64_t h)
{
	char err[96];
	if (h)
		domain_destroy(h, err, sizeof err);
}

static long stat(struct domain *client, int which)
{
	return domain_call(client, BDC_STAT, which, 0, 0, 0);
}

/* Stop the workload and wait for its read-back; false if it never ends. */
static bool finish(struct domain *client)
{
	domain_call(client, BDC_STOP, 0, 0, 0, 0);
	uint64_t deadline = time_ns() + RUN_WAIT_NS;
	while (stat(client, BDC_RUNNING) == 1 && time_ns() < deadline)
		thread_sleep_ns(10000000);
	return stat(client, BDC_RUNNING) == 0;
}

/* bdclient's workload through shadow_image, which runs driver_image; crash
 * the driver's current instance ROUNDS * DRIVER_FAULTS times. */
static void through_shadow(struct ktest_ctx *t, const char *shadow_image, const char *driver_image)
{
	struct domain *shadow = create(t, shadow_image);
	struct domain *client = shadow ? create(t, "bdclient") : NULL;
	if (!client)
		goto out;
	long r = domain_call(client, BDC_START, UNBOUNDED_OPS, WRITE_PERCENT,
			     (long)domain_handle(shadow), 0);
	if (r != 0) {
		ktest_fail(t, __FILE__, __LINE__, "bdclient.start: %ld", r);
		goto out;
	}
	uint64_t h = driver_wait_serving(driver_image, 0, BDEV_STATS, time_ns() + FAULT_WAIT_NS);
	if (!h) {
		ktest_fail(t, __FILE__, __LINE__, "%s never served before the first crash",
			   driver_image);
		goto out;
	}
	/* Every wait is checked, the last one too: each crash must be followed
	 * by a new membdev that serves. */
	for (unsigned i = 0; i < ROUNDS * DRIVER_FAULTS; i++) {
		int fault = driver_fault(i);
		if (stat(client, BDC_RUNNING) != 1 || !driver_strike(h, fault)) {
			ktest_fail(t, __FILE__, __LINE__, "crash %u (%s): no %s", i,
				   driver_fault_name(fault),
				   stat(client, BDC_RUNNING) != 1 ? "workload running"
								  : "driver to strike");
			goto out;
		}
		h = driver_wait_serving(driver_image, h, BDEV_STATS, time_ns() + FAULT_WAIT_NS);
		if (!h) {
			ktest_fail(t, __FILE__, __LINE__,
				   "crash %u (%s): no new %s served within %llu s", i,
				   driver_fault_name(fault), driver_image,
				   FAULT_WAIT_NS / 1000000000ULL);
			goto out;
		}
	}
	if (!finish(client)) {
		ktest_fail(t, __FILE__, __LINE__, "the workload did not end");
		goto out;
	}
	long errors = stat(client, BDC_ERRORS), lost = stat(client, BDC_LOST);
	long verified = stat(client, BDC_VERIFIED), unverified = stat(client, BDC_UNVERIFIED);
	if (errors || lost || unverified)
		ktest_fail(t, __FILE__, __LINE__,
			   "across %u crashes the client saw %ld errors (last %ld), %ld wrong "
			   "blocks, %ld unverifiable reads",
			   ROUNDS * DRIVER_FAULTS, errors, stat(client, BDC_LAST_ERROR), lost,
			   unverified);
	else if (verified < BDC_BLOCKS || stat(client, BDC_WRITES) < BDC_BLOCKS)
		ktest_fail(t, __FILE__, __LINE__, "too little work checked: %ld reads verified",
			   verified);
out:
	destroy(client);
	destroy(shadow);
	destroy_handle(driver_current(driver_image));
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
	struct domain *driver = create(t, "membdev");
	struct domain *client = driver ? create(t, "bdclient") : NULL;
	if (!client)
		goto out;
	uint64_t h = domain_handle(driver);
	long r = domain_call(client, BDC_START, UNBOUNDED_OPS, WRITE_PERCENT, (long)h, 0);
	if (r != 0) {
		ktest_fail(t, __FILE__, __LINE__, "bdclient.start: %ld", r);
		goto out;
	}
	uint64_t deadline = time_ns() + FAULT_WAIT_NS;
	while (stat(client, BDC_OPS) == 0 && time_ns() < deadline)
		thread_sleep_ns(2000000);
	driver_strike(h, driver_fault(0));
	while (driver->state == DOMAIN_RUNNING && time_ns() < deadline)
		thread_sleep_ns(2000000);
	if (driver->state == DOMAIN_RUNNING || !finish(client)) {
		ktest_fail(t, __FILE__, __LINE__, "membdev did not crash, or the client hangs");
		goto out;
	}
	long errors = stat(client, BDC_ERRORS), last = stat(client, BDC_LAST_ERROR);
	if (!errors || (last != -MAPLE_ECALLEE && last != -MAPLE_EDEAD))
		ktest_fail(t, __FILE__, __LINE__, "without a shadow: %ld errors, the last %ld",
			   errors, last);
	else if (client->state != DOMAIN_RUNNING || stat(client, BDC_LOST))
		ktest_fail(t, __FILE__, __LINE__, "the client failed or misread blocks");
out:
	destroy(client);
	destroy(driver);
}

/* ramdisk0's frames come on its first mapping and stay, like a card's RAM:
 * map it once before counting. */
static bool populate_ramdisk(struct ktest_ctx *t)
{
	struct domain *d = create(t, "membdev");
	long r = d ? domain_call(d, BDEV_INIT, 1, BDC_BLOCK_SIZE, 0, 0) : -1;
	destroy(d);
	if (d && r < 0)
		ktest_fail(t, __FILE__, __LINE__, "membdev.init: %ld", r);
	return r >= 0;
}

/* The body in its own thread, checked for leaks (ktest/counted.h), once the
 * ramdisk exists: its memory is the device's for good, not a leak. */
static void run_counted(struct ktest_ctx *t, void (*fn)(struct ktest_ctx *t))
{
	if (populate_ramdisk(t))
		ktest_run_counted(t, "kt-recovery", fn,
				  RUN_WAIT_NS + FAULT_WAIT_NS * ROUNDS * DRIVER_FAULTS);
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
