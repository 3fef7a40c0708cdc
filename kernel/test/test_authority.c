/*
 * Host tests for kernel/domain/authority.c, the lifecycle's authority rules
 * both platforms run: the refusal counter (logged 8 times, then one line,
 * then silence), who may create which image (the manifest), who may destroy
 * which domain (only its creator, by handle), and the exact lines each
 * refusal and failure logs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/klog_capture.h"

#include <domain/authority.h>
#include <domain/handle.h>
#include <lib/fmt.h>
#include <maple/abi.h>

/* A domain as a platform describes it: name, id, generation, creator. */
struct dom {
	struct authority_domain a;
	uint64_t refusals;
};

static struct authority_domain *dom(struct dom *d, const char *name, uint32_t id, uint32_t gen,
				    uint64_t creator, const char *creator_name)
{
	*d = (struct dom){.a = {.name = name,
				.id = id,
				.handle = handle_make(id, gen),
				.creator = creator,
				.creator_name = creator_name}};
	d->a.refusals = &d->refusals;
	return &d->a;
}

static int setup(void **state)
{
	(void)state;
	klog_capture_reset();
	return 0;
}

/* The refusal counter: refusals 1..8 are logged (true, no line of its own),
 * the 9th writes the one summary line and is not logged, the 10th and
 * later write nothing. */
static void test_refusal_counter_8_then_one_line(void **state)
{
	(void)state;
	uint64_t n = 0;
	for (int i = 1; i <= DOMAIN_REFUSALS_LOGGED; i++) {
		assert_true(authority_log_refusal("rogue", 3, &n));
		assert_int_equal(n, i);
	}
	assert_int_equal(klog_capture_count(), 0);
	assert_false(authority_log_refusal("rogue", 3, &n)); /* the 9th */
	assert_int_equal(klog_capture_count(), 1);
	assert_string_equal(
		klog_capture_line(0),
		"domain: rogue (id 3): 8 requests refused; further refusals are not logged");
	assert_false(authority_log_refusal("rogue", 3, &n)); /* the 10th */
	assert_int_equal(klog_capture_count(), 1);
	assert_int_equal(n, 10);
}

/* What the fake create saw, and what it answers. */
struct create_stub {
	int calls;
	char module[32];
	uint64_t handle; /* 0: fail with err */
	const char *err;
};

static uint64_t create_stub(void *ctx, const char *module, char *err, size_t errlen)
{
	struct create_stub *c = ctx;
	c->calls++;
	fmt_snprintf(c->module, sizeof c->module, "%s", module);
	if (!c->handle)
		fmt_snprintf(err, errlen, "%s", c->err);
	return c->handle;
}

static void test_create_allowed_by_the_manifest(void **state)
{
	(void)state;
	struct dom shadow;
	struct create_stub c = {.handle = handle_make(2, 5)};
	long h = authority_create_by(dom(&shadow, "bdev_shadow", 1, 0, 0, "kernel"), "membdev",
				     create_stub, &c);
	assert_int_equal(h, (long)handle_make(2, 5));
	assert_int_equal(c.calls, 1);
	assert_string_equal(c.module, "membdev");
	assert_int_equal(klog_capture_count(), 0);
	assert_int_equal(shadow.refusals, 0);
}

/* Each row: a creator image and an image the manifest does not let it
 * create: -MAPLE_EPERM, nothing created, the exact line. */
static void test_create_refused_by_the_manifest(void **state)
{
	(void)state;
	static const struct {
		const char *creator, *image;
	} rows[] = {
		{"rogue", "membdev"},		   /* not in the manifest at all */
		{"membdev", "membdev"},		   /* listed, creates nothing */
		{"bdev_shadow", "nvme"},	   /* creates only its own driver */
		{"bdev_shadow", "membdev_linger"}, /* ... not another pair's */
		{"bdev_shadow", "membdevx"},	   /* whole names only */
		{"bdev_shadow", "membde"},
		{"bdev_shadow", ""},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		klog_capture_reset();
		struct dom creator;
		struct create_stub c = {.handle = 99};
		long h = authority_create_by(dom(&creator, rows[i].creator, 4, 1, 0, "kernel"),
					     rows[i].image, create_stub, &c);
		assert_int_equal(h, -MAPLE_EPERM);
		assert_int_equal(c.calls, 0);
		char want[200];
		fmt_snprintf(want, sizeof want,
			     "domain: %s (id 4) may not create %s: the manifest does not let %s "
			     "create it",
			     rows[i].creator, rows[i].image, rows[i].creator);
		assert_int_equal(klog_capture_count(), 1);
		assert_string_equal(klog_capture_line(0), want);
	}
}

static void test_create_failure_is_einval_with_the_reason(void **state)
{
	(void)state;
	struct dom shadow;
	struct create_stub c = {.err = "membdev_initfail: init failed: panic: scheduled"};
	long h = authority_create_by(dom(&shadow, "bdev_shadow_initfail", 1, 0, 0, "kernel"),
				     "membdev_initfail", create_stub, &c);
	assert_int_equal(h, -MAPLE_EINVAL);
	assert_int_equal(c.calls, 1);
	assert_int_equal(klog_capture_count(), 1);
	assert_string_equal(klog_capture_line(0),
			    "domain: bdev_shadow_initfail could not create membdev_initfail: "
			    "membdev_initfail: init failed: panic: scheduled");
	assert_int_equal(shadow.refusals, 1);
}

/* Past its 8 logged refusals a domain is still refused, silently. */
static void test_create_refusals_past_the_share_are_silent(void **state)
{
	(void)state;
	struct dom rogue;
	struct authority_domain *a = dom(&rogue, "rogue", 2, 0, 0, "kernel");
	struct create_stub c = {.handle = 7};
	for (int i = 0; i < DOMAIN_REFUSALS_LOGGED; i++)
		assert_int_equal(authority_create_by(a, "membdev", create_stub, &c), -MAPLE_EPERM);
	assert_int_equal(klog_capture_count(), DOMAIN_REFUSALS_LOGGED);
	klog_capture_reset();
	assert_int_equal(authority_create_by(a, "membdev", create_stub, &c), -MAPLE_EPERM);
	assert_int_equal(klog_capture_count(), 1);
	assert_string_equal(
		klog_capture_line(0),
		"domain: rogue (id 2): 8 requests refused; further refusals are not logged");
	assert_int_equal(authority_create_by(a, "membdev", create_stub, &c), -MAPLE_EPERM);
	assert_int_equal(klog_capture_count(), 1);
	assert_int_equal(c.calls, 0);
}

struct destroy_stub {
	int calls;
	uint64_t handle;
	int result;
	const char *err;
};

static struct destroy_stub *destroy_seen;

static int destroy_stub(uint64_t handle, char *err, size_t errlen)
{
	destroy_seen->calls++;
	destroy_seen->handle = handle;
	if (destroy_seen->result < 0)
		fmt_snprintf(err, errlen, "%s", destroy_seen->err);
	return destroy_seen->result;
}

static void test_destroy_by_its_creator(void **state)
{
	(void)state;
	struct dom shadow, driver;
	struct authority_domain *s = dom(&shadow, "bdev_shadow", 1, 3, 0, "kernel");
	struct authority_domain *d = dom(&driver, "membdev", 2, 7, s->handle, "bdev_shadow");
	struct destroy_stub st = {0};
	destroy_seen = &st;
	assert_int_equal(authority_destroy_by(s, d, d->handle, destroy_stub), 0);
	assert_int_equal(st.calls, 1);
	assert_int_equal(st.handle, handle_make(2, 7));
	assert_int_equal(klog_capture_count(), 0);
}

/* Each row: a caller that is not the target's creator. */
static void test_destroy_refused_unless_creator(void **state)
{
	(void)state;
	struct dom shadow, driver, rogue, hello, old_shadow;
	struct authority_domain *s = dom(&shadow, "bdev_shadow", 1, 3, 0, "kernel");
	struct authority_domain *d = dom(&driver, "membdev", 2, 7, s->handle, "bdev_shadow");
	struct authority_domain *r = dom(&rogue, "rogue", 3, 0, 0, "kernel");
	struct authority_domain *k = dom(&hello, "hello", 4, 0, 0, "kernel");
	/* The shadow's predecessor in slot 1: the same id, an older generation. */
	struct authority_domain *old = dom(&old_shadow, "bdev_shadow", 1, 2, 0, "kernel");
	static const char *const want[] = {
		"domain: rogue (id 3) may not destroy membdev (id 2): not its creator (created by "
		"bdev_shadow)",
		"domain: rogue (id 3) may not destroy hello (id 4): not its creator (the kernel's)",
		"domain: membdev (id 2) may not destroy membdev (id 2): not its creator (created "
		"by bdev_shadow)",
		"domain: bdev_shadow (id 1) may not destroy membdev (id 2): not its creator "
		"(created by bdev_shadow)",
		"domain: membdev (id 2) may not destroy bdev_shadow (id 1): not its creator (the "
		"kernel's)",
	};
	const struct {
		struct authority_domain *caller, *target;
	} rows[] = {{r, d}, {r, k}, {d, d}, {old, d}, {d, s}};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		klog_capture_reset();
		struct destroy_stub st = {0};
		destroy_seen = &st;
		assert_int_equal(authority_destroy_by(rows[i].caller, rows[i].target,
						      rows[i].target->handle, destroy_stub),
				 -MAPLE_EPERM);
		assert_int_equal(st.calls, 0);
		assert_int_equal(klog_capture_count(), 1);
		assert_string_equal(klog_capture_line(0), want[i]);
	}
}

/* A handle that names nothing: -MAPLE_ESRCH, unlogged, not a refusal. */
static void test_destroy_of_nothing_is_esrch(void **state)
{
	(void)state;
	struct dom shadow;
	struct authority_domain *s = dom(&shadow, "bdev_shadow", 1, 0, 0, "kernel");
	struct destroy_stub st = {0};
	destroy_seen = &st;
	assert_int_equal(authority_destroy_by(s, NULL, handle_make(2, 1), destroy_stub),
			 -MAPLE_ESRCH);
	assert_int_equal(st.calls, 0);
	assert_int_equal(klog_capture_count(), 0);
	assert_int_equal(shadow.refusals, 0);
}

/* The creator's destroy failing: its code, logged but for -MAPLE_ESRCH
 * (the domain went meanwhile: nothing to report). */
static void test_destroy_failure_is_logged_but_esrch(void **state)
{
	(void)state;
	struct dom shadow, driver;
	struct authority_domain *s = dom(&shadow, "bdev_shadow", 1, 0, 0, "kernel");
	struct authority_domain *d = dom(&driver, "membdev", 2, 1, s->handle, "bdev_shadow");
	struct destroy_stub st = {.result = -MAPLE_ETIMEDOUT,
				  .err = "membdev still has 1 calls in progress"};
	destroy_seen = &st;
	assert_int_equal(authority_destroy_by(s, d, d->handle, destroy_stub), -MAPLE_ETIMEDOUT);
	assert_int_equal(klog_capture_count(), 1);
	assert_string_equal(klog_capture_line(0),
			    "domain: bdev_shadow (id 1) could not destroy 0x10002: membdev still "
			    "has 1 calls in progress");
	klog_capture_reset();
	st = (struct destroy_stub){.result = -MAPLE_ESRCH, .err = "no such domain"};
	assert_int_equal(authority_destroy_by(s, d, d->handle, destroy_stub), -MAPLE_ESRCH);
	assert_int_equal(klog_capture_count(), 0);
	assert_int_equal(shadow.refusals, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_refusal_counter_8_then_one_line, setup),
		cmocka_unit_test_setup(test_create_allowed_by_the_manifest, setup),
		cmocka_unit_test_setup(test_create_refused_by_the_manifest, setup),
		cmocka_unit_test_setup(test_create_failure_is_einval_with_the_reason, setup),
		cmocka_unit_test_setup(test_create_refusals_past_the_share_are_silent, setup),
		cmocka_unit_test_setup(test_destroy_by_its_creator, setup),
		cmocka_unit_test_setup(test_destroy_refused_unless_creator, setup),
		cmocka_unit_test_setup(test_destroy_of_nothing_is_esrch, setup),
		cmocka_unit_test_setup(test_destroy_failure_is_logged_but_esrch, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
