/*
 * Host tests for kernel/dev/grant.c, the device grant rule both platforms
 * run: at most one running holder, and a holder that failed or went away
 * succeeded only by an instance its own creator makes; the holder's
 * description, the grant and refusal lines, and ending a grant.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/klog_capture.h"

#include <dev/grant.h>
#include <domain/handle.h>
#include <lib/fmt.h>
#include <maple/abi.h>

#define SHADOW	   handle_make(1, 4) /* bdev_shadow, the driver's creator */
#define DRIVER	   handle_make(2, 9) /* membdev, the holder */
#define OTHER	   handle_make(5, 1) /* some other creator */
#define OLD_SHADOW handle_make(1, 3) /* the shadow's predecessor in its slot */

static int setup(void **state)
{
	(void)state;
	klog_capture_reset();
	return 0;
}

static struct device_grant held(uint64_t holder, uint64_t lineage)
{
	struct device_grant g = {.holder = holder, .lineage = lineage};
	fmt_snprintf(g.holder_name, sizeof g.holder_name, "membdev");
	fmt_snprintf(g.lineage_name, sizeof g.lineage_name, lineage ? "bdev_shadow" : "kernel");
	return g;
}

/* The rule's table: the holder's state, the lineage's state, who creates
 * the new domain, and the refusal (NULL: granted). */
static void test_refusal_table(void **state)
{
	(void)state;
	static const char *const runs = "its holder runs",
				 *failed = "its failed holder is for its own creator to replace",
				 *kept = "it is kept for its last holder's creator";
	const struct {
		uint64_t holder, lineage;
		enum domain_state hs, ls;
		uint64_t creator;
		const char *want;
	} rows[] = {
		/* Never held: anyone's. */
		{0, 0, DOMAIN_GONE, DOMAIN_GONE, OTHER, NULL},
		{0, 0, DOMAIN_GONE, DOMAIN_GONE, 0, NULL},
		/* A running (or creating) holder keeps it, even from its creator. */
		{DRIVER, SHADOW, DOMAIN_RUNNING, DOMAIN_RUNNING, SHADOW, runs},
		{DRIVER, SHADOW, DOMAIN_CREATING, DOMAIN_RUNNING, SHADOW, runs},
		{DRIVER, SHADOW, DOMAIN_RUNNING, DOMAIN_RUNNING, OTHER, runs},
		/* The creator of a failed holder replaces it, not yet destroyed. */
		{DRIVER, SHADOW, DOMAIN_FAILING, DOMAIN_RUNNING, SHADOW, NULL},
		{DRIVER, SHADOW, DOMAIN_DESTROYING, DOMAIN_RUNNING, SHADOW, NULL},
		/* ... no one else does. */
		{DRIVER, SHADOW, DOMAIN_FAILING, DOMAIN_RUNNING, OTHER, failed},
		{DRIVER, SHADOW, DOMAIN_FAILING, DOMAIN_RUNNING, 0, failed},
		/* ... not even the creator's predecessor in its slot (stale
		 * generation: another domain). */
		{DRIVER, SHADOW, DOMAIN_FAILING, DOMAIN_RUNNING, OLD_SHADOW, failed},
		/* Holder gone: kept for its creator while that lives. */
		{0, SHADOW, DOMAIN_GONE, DOMAIN_RUNNING, SHADOW, NULL},
		{0, SHADOW, DOMAIN_GONE, DOMAIN_RUNNING, OTHER, kept},
		{0, SHADOW, DOMAIN_GONE, DOMAIN_FAILING, OTHER, kept},
		/* ... and free once the creator is gone too. */
		{0, SHADOW, DOMAIN_GONE, DOMAIN_GONE, OTHER, NULL},
		/* The kernel made the holder (lineage 0): the kernel's next
		 * instance replaces a failed one; a domain's does not. */
		{DRIVER, 0, DOMAIN_FAILING, DOMAIN_GONE, 0, NULL},
		{DRIVER, 0, DOMAIN_FAILING, DOMAIN_GONE, SHADOW, failed},
		{0, 0, DOMAIN_GONE, DOMAIN_GONE, SHADOW, NULL},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct device_grant g = held(rows[i].holder, rows[i].lineage);
		const char *got = grant_refusal(&g, rows[i].hs, rows[i].ls, rows[i].creator);
		if (!rows[i].want && got)
			fail_msg("row %zu: refused (%s), want granted", i, got);
		if (rows[i].want && (!got || strcmp(got, rows[i].want)))
			fail_msg("row %zu: %s, want %s", i, got ? got : "granted", rows[i].want);
	}
}

static void test_describe_holder(void **state)
{
	(void)state;
	char buf[96];
	struct device_grant g = held(DRIVER, SHADOW);
	grant_describe_holder(&g, buf, sizeof buf);
	assert_string_equal(buf, "membdev (id 2)");
	g.holder = 0;
	grant_describe_holder(&g, buf, sizeof buf);
	assert_string_equal(buf, "nobody: it is kept for the next instance bdev_shadow (id 1) "
				 "creates");
	g = held(0, 0);
	grant_describe_holder(&g, buf, sizeof buf);
	assert_string_equal(buf, "nobody");
}

static struct authority_domain who(const char *name, uint64_t handle, uint64_t creator,
				   const char *creator_name, uint64_t *refusals)
{
	return (struct authority_domain){.name = name,
					 .id = handle_slot(handle),
					 .handle = handle,
					 .creator = creator,
					 .creator_name = creator_name,
					 .refusals = refusals};
}

/* The shadow's new driver succeeds its failed one: the grant moves, the
 * lineage stays the shadow, and the lines are the VM's. */
static void test_decide_grants_the_successor(void **state)
{
	(void)state;
	uint64_t n = 0;
	struct device_grant g = held(DRIVER, SHADOW);
	struct authority_domain d = who("membdev", handle_make(3, 1), SHADOW, "bdev_shadow", &n);
	char by[96];
	const char *why = grant_decide(&g, &d, NULL, DOMAIN_FAILING, DOMAIN_RUNNING, by, sizeof by);
	assert_null(why);
	assert_string_equal(by, "membdev (id 2)"); /* before the decision */
	assert_int_equal(g.holder, handle_make(3, 1));
	assert_int_equal(g.lineage, SHADOW);
	assert_string_equal(g.holder_name, "membdev");
	assert_string_equal(g.lineage_name, "bdev_shadow");
	grant_log("ramdisk0", &d, why, by);
	assert_int_equal(klog_capture_count(), 1);
	assert_string_equal(klog_capture_line(0),
			    "device: ramdisk0 granted to membdev (id 3), created by bdev_shadow");
	assert_int_equal(n, 0); /* a grant decision is no refused request */
}

/* Refused, by the rule or by the caller's own reason: nothing changes. */
static void test_decide_refuses_and_changes_nothing(void **state)
{
	(void)state;
	uint64_t n = 0;
	struct device_grant g = held(DRIVER, SHADOW), before = g;
	struct authority_domain d = who("membdev", handle_make(3, 1), SHADOW, "bdev_shadow", &n);
	char by[96];
	const char *why = grant_decide(&g, &d, NULL, DOMAIN_RUNNING, DOMAIN_RUNNING, by, sizeof by);
	assert_string_equal(why, "its holder runs");
	assert_memory_equal(&g, &before, sizeof g);
	grant_log("ramdisk0", &d, why, by);
	assert_string_equal(klog_capture_line(0),
			    "device: ramdisk0 not granted to membdev (id 3): its holder runs "
			    "(granted to membdev (id 2))");
	/* The caller's own reason wins over a rule that would grant. */
	g = held(0, 0);
	before = g;
	why = grant_decide(&g, &d, "it is being stopped for another domain's grant", DOMAIN_GONE,
			   DOMAIN_GONE, by, sizeof by);
	assert_string_equal(why, "it is being stopped for another domain's grant");
	assert_memory_equal(&g, &before, sizeof g);
	assert_string_equal(by, "nobody");
}

/* Acting on a device one does not hold: -MAPLE_EPERM, within the
 * domain's share of logged refusals. */
static void test_refuse_counts_and_logs(void **state)
{
	(void)state;
	uint64_t n = 0;
	struct authority_domain r = who("rogue", handle_make(4, 1), 0, "kernel", &n);
	assert_int_equal(grant_refuse(&r, "map", "ramdisk0", "membdev (id 2)"), -MAPLE_EPERM);
	assert_string_equal(klog_capture_line(0), "device: rogue (id 4) may not map ramdisk0: it "
						  "is granted to membdev (id 2)");
	assert_int_equal(grant_refuse(&r, "map a BAR of", "nvme0", "nobody"), -MAPLE_EPERM);
	assert_string_equal(klog_capture_line(1),
			    "device: rogue (id 4) may not map a BAR of nvme0: it is granted to "
			    "nobody");
	for (int i = 2; i < DOMAIN_REFUSALS_LOGGED; i++)
		grant_refuse(&r, "map", "ramdisk0", "nobody");
	assert_int_equal(klog_capture_count(), DOMAIN_REFUSALS_LOGGED);
	assert_int_equal(grant_refuse(&r, "map", "ramdisk0", "nobody"), -MAPLE_EPERM);
	assert_int_equal(klog_capture_count(), DOMAIN_REFUSALS_LOGGED + 1);
	assert_string_equal(
		klog_capture_line(DOMAIN_REFUSALS_LOGGED),
		"domain: rogue (id 4): 8 requests refused; further refusals are not logged");
	assert_int_equal(n, DOMAIN_REFUSALS_LOGGED + 1);
}

/* Only the holder's own handle ends its grant; the lineage stays. */
static void test_end(void **state)
{
	(void)state;
	struct device_grant g = held(DRIVER, SHADOW);
	assert_false(grant_end(&g, handle_make(2, 8))); /* stale generation */
	assert_false(grant_end(&g, 0));
	assert_false(grant_end(&g, SHADOW));
	assert_int_equal(g.holder, DRIVER);
	assert_true(grant_end(&g, DRIVER));
	assert_int_equal(g.holder, 0);
	assert_int_equal(g.lineage, SHADOW);
	assert_false(grant_end(&g, DRIVER));
	g = held(0, 0);
	assert_false(grant_end(&g, 0)); /* nobody's handle is not a holder */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_refusal_table, setup),
		cmocka_unit_test_setup(test_describe_holder, setup),
		cmocka_unit_test_setup(test_decide_grants_the_successor, setup),
		cmocka_unit_test_setup(test_decide_refuses_and_changes_nothing, setup),
		cmocka_unit_test_setup(test_refuse_counts_and_logs, setup),
		cmocka_unit_test_setup(test_end, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
