/*
 * In-guest tests of the NVMe driver (drivers/block/nvme, docs/drivers.md):
 * it brings up the emulated controller and serves bdclient's verified
 * workload; a bad request in a batch fails alone with -MAPLE_EINVAL while
 * its neighbour succeeds; and the recovery test of the membdev work
 * (shadowed.c) runs unchanged through nvme_shadow, crashing the driver
 * with every fault kind while the workload runs. Each checks for leaks.
 */
#include <core/log.h>
#include <core/sched.h>
#include <core/time.h>
#include <domain/domain.h>
#include <ktest/counted.h>
#include <ktest/driver_faults.h>
#include <ktest/ktest.h>
#include <ktest/shadowed.h>
#include <test/bdclient/bdclient.h>
#include <test/nvmetest/nvmetest.h>

#define ROUNDS	     10 /* of every fault: 60 crashes, as with membdev */
#define WORKLOAD_OPS 3000

static void verified_workload(struct ktest_ctx *t)
{
	struct domain *driver = ktest_create(t, "nvme");
	struct domain *client = driver ? ktest_create(t, "bdclient") : NULL;
	if (!client)
		goto out;
	long r = domain_call(client, BdClient_start_METHOD, WORKLOAD_OPS, SHADOWED_WRITE_PERCENT,
			     (long)domain_handle(driver), 0);
	if (r != 0) {
		ktest_fail(t, __FILE__, __LINE__, "bdclient.start on nvme: %ld", r);
		goto out;
	}
	uint64_t deadline = time_ns() + SHADOWED_RUN_WAIT_NS;
	while (shadowed_stat(client, BDC_RUNNING) == 1 && time_ns() < deadline)
		thread_sleep_ns(10000000);
	long errors = shadowed_stat(client, BDC_ERRORS), lost = shadowed_stat(client, BDC_LOST);
	long verified = shadowed_stat(client, BDC_VERIFIED);
	long unverified = shadowed_stat(client, BDC_UNVERIFIED);
	if (shadowed_stat(client, BDC_RUNNING) != 0)
		ktest_fail(t, __FILE__, __LINE__, "the workload on nvme did not end");
	else if (errors || lost || unverified)
		ktest_fail(t, __FILE__, __LINE__,
			   "nvme: %ld errors (last %ld), %ld wrong blocks, %ld unverifiable reads",
			   errors, shadowed_stat(client, BDC_LAST_ERROR), lost, unverified);
	else if (verified < BDC_BLOCKS || shadowed_stat(client, BDC_WRITES) < BDC_BLOCKS)
		ktest_fail(t, __FILE__, __LINE__, "too little checked: %ld reads verified",
			   verified);
	else
		klog("ktest: nvme: %ld requests, %ld reads verified, %ld writes",
		     shadowed_stat(client, BDC_OPS), verified, shadowed_stat(client, BDC_WRITES));
out:
	ktest_destroy(client);
	ktest_destroy(driver);
}

KTEST(nvme_driver_serves_a_verified_workload)
{
	ktest_run_counted(t, "kt-nvme", verified_workload, SHADOWED_RUN_WAIT_NS);
}

/* Every probe case and its exact outcome: the case's status negated. */
static const struct {
	int which;
	long want;
	const char *what;
} cases[] = {
	{NVT_BEYOND_END, MAPLE_EINVAL, "a block past the end"},
	{NVT_STRADDLES_END, MAPLE_EINVAL, "two blocks from the last one"},
	{NVT_MISALIGNED, MAPLE_EINVAL, "a buffer offset that is not a multiple of 4"},
	{NVT_SMALL_BUF, MAPLE_EINVAL, "a 64-byte RRef as a 128 KiB buffer"},
	{NVT_BAD_OP, MAPLE_EINVAL, "op 7"},
	{NVT_LARGE, 0, "124 KiB from offset 4, read back from offset 12"},
	{NVT_FLUSH, 0, "124 KiB, then flush"},
};

static void bad_requests(struct ktest_ctx *t)
{
	struct domain *driver = ktest_create(t, "nvme");
	struct domain *client = driver ? ktest_create(t, "nvmetest") : NULL;
	for (unsigned i = 0; client && i < sizeof cases / sizeof cases[0]; i++) {
		long got = domain_call(client, NvmeTest_probe_METHOD, (long)domain_handle(driver),
				       cases[i].which, 0, 0);
		klog("ktest: nvme probe %s: %ld", cases[i].what, got);
		if (got != cases[i].want)
			ktest_fail(t, __FILE__, __LINE__, "%s: probe returned %ld, want %ld%s",
				   cases[i].what, got, cases[i].want,
				   got == NVT_NEIGHBOUR_HURT ? " (the good request was hurt)" : "");
	}
	ktest_destroy(client);
	ktest_destroy(driver);
}

KTEST(nvme_bad_requests_fail_alone)
{
	ktest_run_counted(t, "kt-nvme-bad", bad_requests, SHADOWED_RUN_WAIT_NS);
}

static void with_shadow(struct ktest_ctx *t)
{
	const struct shadowed_run run = {.shadow_image = "nvme_shadow",
					 .driver_image = "nvme",
					 .crashes = ROUNDS * DRIVER_FAULTS};
	shadowed_crash_driver(t, &run);
}

KTEST(nvme_recovery_shadow_hides_driver_crashes_without_losing_data)
{
	ktest_run_counted(t, "kt-nvme-recovery", with_shadow,
			  SHADOWED_RUN_WAIT_NS + SHADOWED_FAULT_WAIT_NS * ROUNDS * DRIVER_FAULTS);
}
