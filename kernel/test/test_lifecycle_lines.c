/*
 * Host tests for kernel/domain/lifecycle_lines.c: the lifecycle's lines
 * and reasons both platforms log and return, byte for byte, and the
 * outcome of a new domain's init (a failure first, then a negative
 * result, else it runs on).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "support/klog_capture.h"

#include <domain/lifecycle_lines.h>
#include <domain/slot_layout.h>

static int setup(void **state)
{
	(void)state;
	klog_capture_reset();
	return 0;
}

static void test_lines(void **state)
{
	(void)state;
	lifecycle_log_created("membdev", "bdev_shadow", 2, 5, 28 << 10, 0x10080000000ul, 6);
	lifecycle_log_failed("membdev", 2, "killed from the control console");
	lifecycle_log_destroyed("membdev", 2, 23, 0);
	lifecycle_log_created("hello", "kernel", 1, -1, (20 << 10) + 1023, 0x10040000000ul, 1);
	assert_int_equal(klog_capture_count(), 4);
	assert_string_equal(klog_capture_line(0),
			    "domain: membdev created by bdev_shadow: id 2, key 5, 28 KiB image at "
			    "0x10080000000, 6 methods");
	assert_string_equal(klog_capture_line(1),
			    "domain: membdev (id 2) failed: killed from the control console");
	assert_string_equal(klog_capture_line(2),
			    "domain: membdev (id 2) destroyed, 23 pages and 0 RRefs returned");
	/* No keys (maple-hosted without PKU): key -1; KiB rounded down. */
	assert_string_equal(klog_capture_line(3),
			    "domain: hello created by kernel: id 1, key -1, 20 KiB image at "
			    "0x10040000000, 1 methods");
}

static void test_init_outcome(void **state)
{
	(void)state;
	char err[128] = "untouched";
	assert_false(lifecycle_init_failed("hello", 0, false, "", err, sizeof err));
	assert_false(lifecycle_init_failed("hello", 6, false, "", err, sizeof err));
	assert_string_equal(err, "untouched");
	assert_true(lifecycle_init_failed("membdev", -22, false, "", err, sizeof err));
	assert_string_equal(err, "membdev: domain_main returned -22");
	/* A failure is the reason, whatever the result. */
	assert_true(lifecycle_init_failed("membdev_initfail", -5, true, "panic: scheduled", err,
					  sizeof err));
	assert_string_equal(err, "membdev_initfail: init failed: panic: scheduled");
	assert_true(lifecycle_init_failed("membdev_initfail", 0, true, "SIGSEGV (SEGV_MAPERR)", err,
					  sizeof err));
	assert_string_equal(err, "membdev_initfail: init failed: SIGSEGV (SEGV_MAPERR)");
	assert_int_equal(klog_capture_count(), 0);
}

static void test_image_fits(void **state)
{
	(void)state;
	char err[96] = "untouched";
	assert_true(lifecycle_image_fits("big.elf", DOMAIN_IMAGE_MAX, err, sizeof err));
	assert_string_equal(err, "untouched");
	assert_false(lifecycle_image_fits("big.elf", DOMAIN_IMAGE_MAX + 1, err, sizeof err));
	assert_string_equal(err, "big.elf: image spans more than 256 MiB");
}

static void test_reasons(void **state)
{
	(void)state;
	char err[96];
	lifecycle_no_slot(err, sizeof err);
	assert_string_equal(err, "all 63 domain slots are in use");
	lifecycle_no_module("../etc/passwd", err, sizeof err);
	assert_string_equal(err, "no boot module named '../etc/passwd'");
	lifecycle_no_such_domain(err, sizeof err);
	assert_string_equal(err, "no such domain (already destroyed?)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_lines, setup),
		cmocka_unit_test_setup(test_init_outcome, setup),
		cmocka_unit_test_setup(test_image_fits, setup),
		cmocka_unit_test_setup(test_reasons, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
