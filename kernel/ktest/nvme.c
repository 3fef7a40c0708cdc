/*
 * In-guest tests of the NVMe driver (drivers/block/nvme, docs/drivers.md):
 * it brings up the emulated controller and serves bdclient's verified
 * workload; it refuses a controller in fatal status or never ready (test
 * images that see a copy of the registers); a bad request in a batch fails alone with -MAPLE_EINVAL
 * while its neighbour succeeds; and the recovery test of the membdev work (shadowed.c) runs
 * unchanged through nvme_shadow, crashing the driver with every fault kind while the workload runs;
 * and a driver that acknowledges a write it did not store, or returns a wrong read, is found by
 * the shadow's end-to-end checks and redone. Each checks for leaks.
 */
#include <core/log.h>
#include <core/sched.h>
#include <core/time.h>
#include <domain/domain.h>
#include <ktest/counted.h>
#include <ktest/driver_faults.h>
#include <ktest/ktest.h>
#include <ktest/shadowed.h>
#include <lib/string.h>
#include <test/bdclient/bdclient.h>
#include <test/nvmetest/nvmetest.h>

#define ROUNDS	     10 /* of every fault: 60 crashes, as with membdev */
#define WORKLOAD_OPS 3000

/*
 * bdclient's workload through device (of image `image`): every block written,
 * ops random requests half writes, every block read back. Fails t unless the
 * client saw no error, no wrong block and no unverifiable read, and wrote and
 * verified every block.
 */
static void verified_run(struct ktest_ctx *t, struct domain *device, const char *image, long ops)
{
	struct domain *client = ktest_create(t, "bdclient");
	long r = client ? domain_call(client, BdClient_start_METHOD, ops, SHADOWED_WRITE_PERCENT,
				      (long)domain_handle(device), 0)
			: 0;
	if (r != 0)
		ktest_fail(t, __FILE__, __LINE__, "bdclient.start on %s: %ld", image, r);
	if (!client || r != 0) {
		ktest_destroy(client);
		return;
	}
	uint64_t deadline = time_ns() + SHADOWED_RUN_WAIT_NS;
	while (shadowed_stat(client, BDC_RUNNING) == 1 && time_ns() < deadline)
		thread_sleep_ns(10000000);
	long errors = shadowed_stat(client, BDC_ERRORS), lost = shadowed_stat(client, BDC_LOST);
	long verified = shadowed_stat(client, BDC_VERIFIED);
	long unverified = shadowed_stat(client, BDC_UNVERIFIED);
	if (shadowed_stat(client, BDC_RUNNING) != 0)
		ktest_fail(t, __FILE__, __LINE__, "the workload on %s did not end", image);
	else if (errors || lost || unverified)
		ktest_fail(t, __FILE__, __LINE__,
			   "%s: %ld errors (last %ld), %ld wrong blocks, %ld unverifiable reads",
			   image, errors, shadowed_stat(client, BDC_LAST_ERROR), lost, unverified);
	else if (verified < BDC_BLOCKS || shadowed_stat(client, BDC_WRITES) < BDC_BLOCKS)
		ktest_fail(t, __FILE__, __LINE__, "too little checked: %ld reads verified",
			   verified);
	else
		klog("ktest: %s: %ld requests, %ld reads verified, %ld writes", image,
		     shadowed_stat(client, BDC_OPS), verified, shadowed_stat(client, BDC_WRITES));
	ktest_destroy(client);
}

static void workload_on(struct ktest_ctx *t, const char *image)
{
	struct domain *driver = ktest_create(t, image);
	if (driver)
		verified_run(t, driver, image, WORKLOAD_OPS);
	ktest_destroy(driver);
}

static void verified_workload(struct ktest_ctx *t)
{
	workload_on(t, "nvme");
}

KTEST(nvme_driver_serves_a_verified_workload)
{
	ktest_run_counted(t, "kt-nvme", verified_workload, SHADOWED_RUN_WAIT_NS);
}

/* Ahead of every batch nvme_stray has the controller complete a command id
 * it never issued (its log lines are checked by ci/groups/nvme.py): the
 * workload must not notice. */
static void stray_workload(struct ktest_ctx *t)
{
	workload_on(t, "nvme_stray");
}

KTEST(nvme_unknown_command_ids_are_ignored)
{
	ktest_run_counted(t, "kt-nvme-stray", stray_workload, SHADOWED_RUN_WAIT_NS);
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

/* nvmetest's probe `which` (its requests beside a good one) against driver:
 * fails t, naming what, unless it returns want. */
static void expect_probe(struct ktest_ctx *t, struct domain *client, struct domain *driver,
			 int which, long want, const char *what)
{
	long got = domain_call(client, NvmeTest_probe_METHOD, (long)domain_handle(driver), which, 0,
			       0);
	klog("ktest: nvme probe %s: %ld", what, got);
	if (got != want)
		ktest_fail(t, __FILE__, __LINE__, "%s: probe returned %ld, want %ld%s", what, got,
			   want, got == NVT_NEIGHBOUR_HURT ? " (the good request was hurt)" : "");
}

static void bad_requests(struct ktest_ctx *t)
{
	struct domain *driver = ktest_create(t, "nvme");
	struct domain *client = driver ? ktest_create(t, "nvmetest") : NULL;
	for (unsigned i = 0; client && i < sizeof cases / sizeof cases[0]; i++)
		expect_probe(t, client, driver, cases[i].which, cases[i].want, cases[i].what);
	ktest_destroy(client);
	ktest_destroy(driver);
}

KTEST(nvme_bad_requests_fail_alone)
{
	ktest_run_counted(t, "kt-nvme-bad", bad_requests, SHADOWED_RUN_WAIT_NS);
}

/* A status error from the controller reaches its request only: nvme_badns
 * sends block 100's commands (the probe's large request) to a namespace the
 * controller refuses. */
static void device_error(struct ktest_ctx *t)
{
	struct domain *driver = ktest_create(t, "nvme_badns");
	struct domain *client = driver ? ktest_create(t, "nvmetest") : NULL;
	if (client)
		expect_probe(t, client, driver, NVT_LARGE, MAPLE_EIO,
			     "block 100's large request on nvme_badns");
	ktest_destroy(client);
	ktest_destroy(driver);
}

KTEST(nvme_device_errors_fail_their_request_alone)
{
	ktest_run_counted(t, "kt-nvme-eio", device_error, SHADOWED_RUN_WAIT_NS);
}

/* A controller in fatal status, or one never ready, is refused by
 * domain_main (one log line each, checked by ci/groups/nvme.py): the
 * create fails with domain_main's exact error and nothing is left. */
static void refusals(struct ktest_ctx *t)
{
	static const struct {
		const char *image, *want;
	} refused[] = {
		{"nvme_cfs", "nvme_cfs: domain_main returned -5"}, /* -MAPLE_EIO */
		{"nvme_notready",
		 "nvme_notready: domain_main returned -110"}, /* -MAPLE_ETIMEDOUT */
	};
	for (unsigned i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		char err[128] = "";
		struct domain *d = domain_create(refused[i].image, err, sizeof err);
		if (d) {
			ktest_fail(t, __FILE__, __LINE__, "%s started", refused[i].image);
			ktest_destroy(d);
		} else if (strcmp(err, refused[i].want)) {
			ktest_fail(t, __FILE__, __LINE__, "%s: \"%s\", want \"%s\"",
				   refused[i].image, err, refused[i].want);
		}
	}
	/* The controller is still good for a driver after them. */
	struct domain *d = ktest_create(t, "nvme");
	long r = d ? domain_call(d, BlockDevice_capacity_METHOD, 0, 0, 0, 0) : 0;
	/* The disk's size is the harness's choice (ci/groups/nvme.py checks it). */
	if (d && (r <= 0 || r % 512))
		ktest_fail(t, __FILE__, __LINE__, "nvme after the refusals: capacity %ld", r);
	ktest_destroy(d);
}

KTEST(nvme_refuses_a_fatal_or_never_ready_controller)
{
	ktest_run_counted(t, "kt-nvme-refuse", refusals, SHADOWED_RUN_WAIT_NS);
}

/*
 * bdclient's sweep (every block written once, then every block read) through
 * shadow_image, whose driver answers one request per instance wrongly (a
 * write acknowledged but not stored, a read with a byte changed): the
 * shadow's end-to-end checks must find each, restart the driver and redo the
 * batch, so the client sees no error and no wrong block. The lines (which
 * block, the check's verdict, one restart per wrong answer) are checked by
 * ci/groups/nvme.py. Without checks the client counted the wrong block.
 */
static void checked_sweep(struct ktest_ctx *t, const char *shadow_image, const char *driver)
{
	struct domain *shadow = ktest_create(t, shadow_image);
	if (shadow)
		verified_run(t, shadow, shadow_image, 0);
	ktest_destroy(shadow);
	ktest_destroy_handle(driver_current(driver));
}

static void forgotten_write(struct ktest_ctx *t)
{
	checked_sweep(t, "nvme_shadow_forgetful", "nvme_forgetful");
}

/* nvme_forgetful acknowledges each instance's 300th write without issuing
 * it: nvme_shadow's read-back (its default policy) finds it. */
KTEST(nvme_shadow_redoes_a_write_acknowledged_but_not_stored)
{
	ktest_run_counted(t, "kt-nvme-forgot", forgotten_write, SHADOWED_RUN_WAIT_NS);
}

static void wrong_read(struct ktest_ctx *t)
{
	checked_sweep(t, "nvme_shadow_wrongread", "nvme_wrongread");
}

/* nvme_wrongread inverts a byte of each instance's 300th read: the shadow's
 * checksums find it with the read-back off (nvme_shadow_wrongread). */
KTEST(nvme_shadow_redoes_a_read_that_returned_wrong_data)
{
	ktest_run_counted(t, "kt-nvme-wrongread", wrong_read, SHADOWED_RUN_WAIT_NS);
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
