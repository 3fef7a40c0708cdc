/*
 * Host tests for kernel/domain/watchdog_rule.c, the call watchdog's rule on
 * both platforms (docs/isolation.md, "The call watchdog"): which call has a
 * deadline, what a malformed continuation stack yields (nothing), when a
 * call is overdue, the credit of a failed call, and the reason line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <domain/gate_layout.h>
#include <domain/watchdog_rule.h>

static struct gate_thread_trusted tt;
#define TT_VA ((uint64_t)&tt)

/* n continuations of the given kinds, callee i + 1 started at 1000 * (i + 1). */
static void stack_of(unsigned n, const uint64_t *kinds)
{
	memset(&tt, 0, sizeof tt);
	for (unsigned i = 0; i < n; i++)
		tt.conts[i] = (struct continuation){
			.kind = kinds[i], .callee = i + 1, .start_tsc = 1000 * (i + 1)};
	tt.cont_top = TT_VA + GTT_CONTS + n * CONT_SIZE;
}

static void test_innermost_call_has_the_deadline(void **state)
{
	(void)state;
	const uint64_t kinds[] = {CONT_THREAD, CONT_XCALL, CONT_UPCALL};
	struct watchdog_call c;
	stack_of(2, kinds);
	assert_true(watchdog_innermost_call(&tt, TT_VA, &c));
	assert_int_equal(c.callee, 2);
	assert_int_equal(c.start_tsc, 2000);
	stack_of(3, kinds);
	assert_true(watchdog_innermost_call(&tt, TT_VA, &c));
	assert_int_equal(c.callee, 3);
	/* A domain thread's own frame has none; an empty stack neither. */
	stack_of(1, kinds);
	assert_false(watchdog_innermost_call(&tt, TT_VA, &c));
	stack_of(0, kinds);
	assert_false(watchdog_innermost_call(&tt, TT_VA, &c));
}

static void test_malformed_stack_yields_nothing(void **state)
{
	(void)state;
	const uint64_t kinds[] = {CONT_XCALL, CONT_XCALL};
	struct watchdog_call c;
	stack_of(2, kinds);
	tt.cont_top += 8; /* not a whole continuation */
	assert_false(watchdog_innermost_call(&tt, TT_VA, &c));
	tt.cont_top = TT_VA + GTT_CONTS + (GATE_MAX_DEPTH + 1) * CONT_SIZE; /* past the stack */
	assert_false(watchdog_innermost_call(&tt, TT_VA, &c));
	stack_of(2, kinds);
	tt.conts[1].callee = GATE_MAX_DOMAINS; /* no such id */
	assert_false(watchdog_innermost_call(&tt, TT_VA, &c));
	tt.conts[1].callee = 0;
	assert_false(watchdog_innermost_call(&tt, TT_VA, &c));
	tt.conts[1].callee = 2;
	tt.conts[1].kind = 7; /* no call's kind */
	assert_false(watchdog_innermost_call(&tt, TT_VA, &c));
}

static void test_overdue_past_the_budget_only(void **state)
{
	(void)state;
	struct watchdog_call c = {.callee = 1, .start_tsc = 1000};
	assert_false(watchdog_overdue(&c, 1100, 100)); /* exactly the budget */
	assert_true(watchdog_overdue(&c, 1101, 100));
	assert_false(watchdog_overdue(&c, 999, 100));	   /* a start after now */
	assert_false(watchdog_overdue(&c, UINT64_MAX, 0)); /* off */
}

static void test_discount_moves_every_deadline(void **state)
{
	(void)state;
	const uint64_t kinds[] = {CONT_THREAD, CONT_XCALL, CONT_UPCALL};
	stack_of(3, kinds);
	watchdog_discount(&tt, TT_VA, 500);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(tt.conts[i].start_tsc, 1000 * (i + 1) + 500);
	assert_int_equal(tt.conts[3].start_tsc, 0); /* nothing past the top */
	tt.cont_top += 8;
	watchdog_discount(&tt, TT_VA, 500); /* malformed: nothing moves */
	assert_int_equal(tt.conts[0].start_tsc, 1500);
}

/* The gate leaves a call unstamped: never overdue, stamped once by the
 * first look, then judged from that stamp; discounts and credits pass it. */
static void test_unstamped_call_is_stamped_at_first_look(void **state)
{
	(void)state;
	const uint64_t kinds[] = {CONT_UPCALL, CONT_XCALL, CONT_THREAD};
	struct watchdog_call c = {.callee = 1, .start_tsc = WATCHDOG_UNSTAMPED};
	assert_false(watchdog_overdue(&c, UINT64_MAX, 100));
	stack_of(2, kinds);
	tt.conts[1].start_tsc = WATCHDOG_UNSTAMPED;
	watchdog_discount(&tt, TT_VA, 500); /* the stamped one moves, not the other */
	assert_int_equal(tt.conts[0].start_tsc, 1500);
	assert_int_equal(tt.conts[1].start_tsc, WATCHDOG_UNSTAMPED);
	assert_true(watchdog_stamp(&tt, TT_VA, 7000, &c));
	assert_int_equal(c.callee, 2);
	assert_int_equal(c.start_tsc, 7000);
	assert_int_equal(tt.conts[1].start_tsc, 7000);
	assert_false(watchdog_stamp(&tt, TT_VA, 9000, &c)); /* once only */
	assert_int_equal(tt.conts[1].start_tsc, 7000);
	assert_true(watchdog_innermost_call(&tt, TT_VA, &c));
	assert_false(watchdog_overdue(&c, 7100, 100));
	assert_true(watchdog_overdue(&c, 7101, 100));
	/* Only the innermost call, and only one with a deadline. */
	tt.conts[0].start_tsc = WATCHDOG_UNSTAMPED;
	assert_false(watchdog_stamp(&tt, TT_VA, 9000, NULL));
	assert_int_equal(tt.conts[0].start_tsc, WATCHDOG_UNSTAMPED);
	stack_of(3, kinds);
	tt.conts[2].start_tsc = WATCHDOG_UNSTAMPED;
	assert_false(watchdog_stamp(&tt, TT_VA, 9000, NULL)); /* a thread's own frame */
	assert_int_equal(tt.conts[2].start_tsc, WATCHDOG_UNSTAMPED);
	/* A failed call's length for its callers: none if never stamped. */
	assert_int_equal(watchdog_failed_call_ticks(1000, 1600), 600);
	assert_int_equal(watchdog_failed_call_ticks(WATCHDOG_UNSTAMPED, 1600), 0);
	assert_int_equal(watchdog_failed_call_ticks(2000, 1600), 0);
}

static void test_reason_line(void **state)
{
	(void)state;
	char r[96];
	watchdog_reason(r, sizeof r, 200, "");
	assert_string_equal(r, "watchdog: a call ran longer than 200 ms");
	watchdog_reason(r, sizeof r, 1000, " (thread 14 asleep in the kernel)");
	assert_string_equal(
		r, "watchdog: a call ran longer than 1000 ms (thread 14 asleep in the kernel)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_innermost_call_has_the_deadline),
		cmocka_unit_test(test_malformed_stack_yields_nothing),
		cmocka_unit_test(test_overdue_past_the_budget_only),
		cmocka_unit_test(test_discount_moves_every_deadline),
		cmocka_unit_test(test_unstamped_call_is_stamped_at_first_look),
		cmocka_unit_test(test_reason_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
