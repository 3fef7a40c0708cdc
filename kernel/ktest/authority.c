/*
 * In-guest tests of the authority model (docs/isolation.md, "Authority"):
 * rogue, created by the kernel, tries to destroy a domain it did not
 * create, to create an image the manifest does not let it create, and to
 * map ramdisk0 while membdev is down between a crash and its shadow's
 * restart. Each must be refused with exactly -MAPLE_EPERM, leave rogue
 * running (a refusal is not a fault), leave the target intact, and leak
 * nothing.
 */
#include <core/sched.h>
#include <core/time.h>
#include <domain/domain.h>
#include <domain/gate.h>
#include <idl/bdev_methods.h>
#include <ktest/counted.h>
#include <ktest/driver_faults.h>
#include <ktest/ktest.h>
#include <test/bdclient/bdclient.h>
#include <test/rogue/cases.h>
#include <test/victim/victim.h>

#define RUN_WAIT_NS  120000000000ULL /* a workload; only stops a hang */
#define WORKLOAD_OPS 64		     /* random requests after the first full write */

static void count_one(struct domain *d, void *arg)
{
	(void)d;
	++*(unsigned *)arg;
}

static unsigned domains_alive(void)
{
	unsigned n = 0;
	domain_foreach(count_one, &n);
	return n;
}

static long rogue_run(struct domain *rogue, int number, uint64_t target)
{
	return domain_call(rogue, Rogue_run_METHOD, number, (long)target, 0, 0);
}

static void destroy_not_created(struct ktest_ctx *t)
{
	struct domain *victim = ktest_create(t, "victim");
	struct domain *rogue = victim ? ktest_create(t, "rogue") : NULL;
	uint64_t vh = victim ? domain_handle(victim) : 0;
	if (!rogue)
		goto out;
	long r = rogue_run(rogue, ROGUE_DESTROY, vh);
	/* Not "the victim is gone": the same handle, still running, intact. */
	if (r != -MAPLE_EPERM)
		ktest_fail(t, __FILE__, __LINE__, "rogue destroying victim: %ld, want %d", r,
			   -MAPLE_EPERM);
	else if (domain_by_id(vh & HANDLE_ID_MASK) != victim || domain_handle(victim) != vh ||
		 victim->state != DOMAIN_RUNNING ||
		 domain_call(victim, Victim_check_METHOD, 0, 0, 0, 0) != 1)
		ktest_fail(t, __FILE__, __LINE__, "the victim did not survive intact");
	else if (rogue->state != DOMAIN_RUNNING)
		ktest_fail(t, __FILE__, __LINE__, "a refused destroy failed rogue: %s",
			   rogue->fail_reason);
	/* Nor itself (nobody created itself), nor a handle that names nothing. */
	else if ((r = rogue_run(rogue, ROGUE_DESTROY, domain_handle(rogue))) != -MAPLE_EPERM)
		ktest_fail(t, __FILE__, __LINE__, "rogue destroying itself: %ld", r);
	else if ((r = rogue_run(rogue, ROGUE_DESTROY, vh + (1ULL << HANDLE_GEN_SHIFT))) !=
		 -MAPLE_ESRCH)
		ktest_fail(t, __FILE__, __LINE__, "rogue destroying a stale handle: %ld", r);
out:
	ktest_destroy(rogue);
	ktest_destroy_handle(vh);
}

KTEST(auth_rogue_may_not_destroy_a_domain_it_did_not_create)
{
	ktest_run_counted(t, "kt-auth", destroy_not_created, RUN_WAIT_NS);
}

static void create_not_allowed(struct ktest_ctx *t)
{
	struct domain *rogue = ktest_create(t, "rogue");
	if (!rogue)
		return;
	unsigned before = domains_alive();
	long r = rogue_run(rogue, ROGUE_CREATE_MEMBDEV, 0);
	unsigned after = domains_alive();
	if (r >= 0)
		ktest_destroy_handle((uint64_t)r); /* the hole is open: leave nothing behind */
	bool running = rogue->state == DOMAIN_RUNNING;
	ktest_destroy(rogue);
	KT_ASSERT_EQ(r, -MAPLE_EPERM);
	KT_ASSERT_EQ(after, before);
	KT_ASSERT(running);
}

KTEST(auth_rogue_may_not_create_an_image_the_manifest_does_not_allow)
{
	ktest_run_counted(t, "kt-auth", create_not_allowed, RUN_WAIT_NS);
}

static long stat(struct domain *client, int which)
{
	return domain_call(client, BdClient_stat_METHOD, which, 0, 0, 0);
}

/* One bounded workload through the shadow, to its verifying read-back. */
static bool workload(struct ktest_ctx *t, struct domain *client)
{
	long r = domain_call(client, BdClient_start_METHOD, WORKLOAD_OPS, 50, 0, 0);
	if (r != 0) {
		ktest_fail(t, __FILE__, __LINE__, "bdclient.start: %ld", r);
		return false;
	}
	uint64_t deadline = time_ns() + RUN_WAIT_NS;
	while (stat(client, BDC_RUNNING) == 1 && time_ns() < deadline)
		thread_sleep_ns(5000000);
	long errors = stat(client, BDC_ERRORS), lost = stat(client, BDC_LOST);
	long verified = stat(client, BDC_VERIFIED), unverified = stat(client, BDC_UNVERIFIED);
	if (stat(client, BDC_RUNNING) != 0 || errors || lost || unverified ||
	    verified < BDC_BLOCKS) {
		ktest_fail(t, __FILE__, __LINE__,
			   "workload: %ld errors (last %ld), %ld wrong blocks, %ld unverifiable, "
			   "%ld verified",
			   errors, stat(client, BDC_LAST_ERROR), lost, unverified, verified);
		return false;
	}
	return true;
}

static void map_while_driver_down(struct ktest_ctx *t)
{
	struct domain *shadow = ktest_create(t, "bdev_shadow");
	struct domain *client = shadow ? ktest_create(t, "bdclient") : NULL;
	struct domain *rogue = client ? ktest_create(t, "rogue") : NULL;
	uint64_t driver = driver_current("membdev");
	if (!rogue || !driver || !workload(t, client))
		goto out;
	/* The shadow created membdev; rogue may not destroy it either. */
	long r = rogue_run(rogue, ROGUE_DESTROY, driver);
	if (r != -MAPLE_EPERM || driver_current("membdev") != driver) {
		ktest_fail(t, __FILE__, __LINE__, "rogue destroying the shadow's membdev: %ld", r);
		goto out;
	}
	/* Crashed, not yet replaced: the shadow restarts it on its next call. */
	if (!driver_strike(driver, driver_fault(DRIVER_FAULTS - 1))) {
		ktest_fail(t, __FILE__, __LINE__, "membdev was not running to be killed");
		goto out;
	}
	long crashed = rogue_run(rogue, ROGUE_MAP_RAMDISK, 0);
	/* Gone, as after a console `destroy`: the device has no live holder. */
	ktest_destroy_handle(driver);
	long gone = rogue_run(rogue, ROGUE_MAP_RAMDISK, 0);
	if (crashed != -MAPLE_EPERM || gone != -MAPLE_EPERM) {
		ktest_fail(t, __FILE__, __LINE__,
			   "rogue mapping ramdisk0: %ld with membdev crashed, %ld with it gone; "
			   "want %d",
			   crashed, gone, -MAPLE_EPERM);
		goto out;
	}
	/* The shadow's next membdev maps it, and every acknowledged block is there. */
	if (!workload(t, client))
		goto out;
	uint64_t next = driver_current("membdev");
	if (!next || next == driver)
		ktest_fail(t, __FILE__, __LINE__, "the shadow did not restart membdev");
	else if (rogue->state != DOMAIN_RUNNING)
		ktest_fail(t, __FILE__, __LINE__, "a refused map failed rogue: %s",
			   rogue->fail_reason);
out:
	ktest_destroy(rogue);
	ktest_destroy(client);
	ktest_destroy(shadow);
	ktest_destroy_handle(driver_current("membdev"));
}

/* ramdisk0's frames come on its first mapping and stay (ktest/recovery.c):
 * one membdev maps it before the counting starts. */
KTEST(auth_rogue_may_not_map_ramdisk0_while_membdev_is_down)
{
	struct domain *d = ktest_create(t, "membdev");
	long r = d ? domain_call(d, BlockDevice_init_METHOD, 1, BDC_BLOCK_SIZE, 0, 0) : -1;
	ktest_destroy(d);
	KT_ASSERT(r > 0);
	ktest_run_counted(t, "kt-auth", map_while_driver_down, RUN_WAIT_NS);
}
