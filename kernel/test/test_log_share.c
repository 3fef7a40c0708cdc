/*
 * Host tests for kernel/domain/log_share.c, a domain's share of the log on
 * both platforms: the burst, the drop and its one note, the refill rate,
 * and the cap after a quiet spell.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "support/klog_capture.h"

#include <domain/log_share.h>

#define T0	 5000000000ull /* any monotonic time but 0 */
#define PER_LINE (1000000000ull / DOMAIN_LOG_PER_S)

static int setup(void **state)
{
	(void)state;
	klog_capture_reset();
	return 0;
}

/* The burst goes at once; line 65 is dropped with the note; line 66 is
 * dropped without one. */
static void test_burst_then_drop_noted_once(void **state)
{
	(void)state;
	struct log_share s = {0};
	bool note;
	for (int i = 0; i < DOMAIN_LOG_BURST; i++) {
		assert_true(log_share_take(&s, T0, &note));
		assert_false(note);
	}
	assert_false(log_share_take(&s, T0, &note));
	assert_true(note);
	assert_false(log_share_take(&s, T0 + PER_LINE - 1, &note));
	assert_false(note);
	/* The note is the caller's to log: */
	log_share_note("rogue", 2);
	assert_int_equal(klog_capture_count(), 1);
	assert_string_equal(klog_capture_line(0), "domain: rogue (id 2) logs more than 64 lines at "
						  "once or 32 a second: the excess is dropped");
}

/* One line per 1/DOMAIN_LOG_PER_S s, exactly at its time, not before;
 * a dropped domain earns lines again, and is not noted twice. */
static void test_refill_rate(void **state)
{
	(void)state;
	struct log_share s = {0};
	bool note;
	for (int i = 0; i < DOMAIN_LOG_BURST; i++)
		log_share_take(&s, T0, &note);
	assert_false(log_share_take(&s, T0, &note));
	assert_true(note);
	assert_false(log_share_take(&s, T0 + PER_LINE - 1, &note));
	assert_true(log_share_take(&s, T0 + PER_LINE, &note));
	assert_false(note);
	assert_false(log_share_take(&s, T0 + PER_LINE, &note));
	assert_false(note);
	/* A second's worth: DOMAIN_LOG_PER_S more. */
	int got = 0;
	while (log_share_take(&s, T0 + PER_LINE + 1000000000ull, &note))
		got++;
	assert_int_equal(got, DOMAIN_LOG_PER_S);
	assert_false(note);
}

/* A long quiet spell refills the burst, no more. */
static void test_cap_after_quiet(void **state)
{
	(void)state;
	struct log_share s = {0};
	bool note;
	assert_true(log_share_take(&s, T0, &note));
	int got = 0;
	while (log_share_take(&s, T0 + 3600ull * 1000000000ull, &note))
		got++;
	assert_int_equal(got, DOMAIN_LOG_BURST);
	assert_true(note);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_burst_then_drop_noted_once, setup),
		cmocka_unit_test_setup(test_refill_rate, setup),
		cmocka_unit_test_setup(test_cap_after_quiet, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
