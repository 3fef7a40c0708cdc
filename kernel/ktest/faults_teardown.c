/*
 * The fault campaign's teardown (kernel/bench/faults.c,
 * faults_workload_destroy) leaves no membdev behind, failed ones included
 * (docs/bench-faults.md, finding 10). When the call watchdog fails the
 * shadow while its membdev is failed and not yet replaced, that instance
 * keeps ramdisk0: the kernel gives a failed holder's device on only to its
 * creator, the shadow, which the teardown destroys. Every later workload's
 * membdev then could not map the device.
 */
#include <bench/fault_campaign.h>
#include <domain/domain.h>
#include <idl/bdev_methods.h>
#include <ktest/counted.h>
#include <ktest/driver_faults.h>
#include <ktest/ktest.h>
#include <ktest/shadowed.h>

#define GEOMETRY 1, 4096 /* one device, 4 KiB blocks: BlockDevice_init's */

static void orphaned_driver(struct ktest_ctx *t)
{
	struct domain *shadow = ktest_create(t, "bdev_shadow");
	uint64_t driver = shadow ? driver_current("membdev") : 0;
	long init = driver ? domain_call(shadow, BlockDevice_init_METHOD, GEOMETRY, 0, 0) : 0;
	if (init <= 0 || !driver_strike(driver, driver_fault(DRIVER_FAULTS - 1))) {
		ktest_fail(t, __FILE__, __LINE__, "the shadow's membdev %#lx: init %ld",
			   (unsigned long)driver, init);
		goto out;
	}
	/* Its membdev killed and not yet replaced (the shadow restarts it at
	 * its next call), the shadow fails as the watchdog failed it. */
	domain_fail(shadow, "failed to test the fault campaign's teardown");
	faults_workload_destroy(domain_handle(shadow), 0);
	shadow = NULL;
	struct domain *next = ktest_create(t, "bdev_shadow");
	uint64_t again = next ? driver_current("membdev") : 0;
	long init_again = again ? domain_call(next, BlockDevice_init_METHOD, GEOMETRY, 0, 0) : 0;
	if (again == driver || init_again <= 0)
		ktest_fail(t, __FILE__, __LINE__,
			   "after the teardown: the next shadow's membdev %#lx (the killed one "
			   "%#lx), init %ld; want a new instance serving",
			   (unsigned long)again, (unsigned long)driver, init_again);
	ktest_destroy(next);
out:
	ktest_destroy(shadow);
	driver_destroy_all("membdev");
}

KTEST(faults_teardown_destroys_the_failed_driver_a_failed_shadow_left)
{
	if (shadowed_populate_ramdisk(t))
		ktest_run_counted(t, "kt-teardown", orphaned_driver, SHADOWED_RUN_WAIT_NS);
}
