/*
 * Host tests for kernel/domain/handle.h, the domain handle both platforms
 * make and the gate reads: id in bits 15:0, generation above; a stale
 * generation, another slot, bits above the generation or an id outside the
 * table name nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <domain/handle.h>

static void test_encoding(void **state)
{
	(void)state;
	assert_int_equal(handle_make(1, 0), 1); /* a slot's first hosted domain: its id */
	assert_int_equal(handle_make(2, 1), 0x10002);
	assert_int_equal(handle_make(63, 0xffffffffu), 0xffffffff003full);
	assert_int_equal(handle_slot(handle_make(5, 77)), 5);
}

static void test_slot_out_of_range(void **state)
{
	(void)state;
	assert_int_equal(handle_slot(0), 0); /* the kernel's */
	assert_int_equal(handle_slot(GATE_MAX_DOMAINS - 1), GATE_MAX_DOMAINS - 1);
	assert_int_equal(handle_slot(GATE_MAX_DOMAINS), 0);
	assert_int_equal(handle_slot(0xffff), 0);
	assert_int_equal(handle_slot(0x10000), 0); /* generation 1 of slot 0 */
}

static void test_names(void **state)
{
	(void)state;
	uint64_t h = handle_make(3, 7);
	assert_true(handle_names(h, 3, 7));
	assert_false(handle_names(h, 3, 6)); /* stale: the slot's earlier domain */
	assert_false(handle_names(h, 3, 8)); /* ... and its later one */
	assert_false(handle_names(h, 4, 7));
	assert_false(handle_names(h | 1ull << 48, 3, 7)); /* bits above the generation */
	assert_false(handle_names(0, 0, 0));		  /* the kernel names no domain */
}

static void test_next_gen(void **state)
{
	(void)state;
	assert_int_equal(handle_next_gen(0), 1);
	assert_int_equal(handle_next_gen(41), 42);
	assert_int_equal(handle_next_gen(0xffffffffu), 0); /* wraps after 2^32 */
	/* Each generation's handle differs from the last's in the same slot. */
	uint32_t g = 0xfffffffeu;
	for (int i = 0; i < 4; i++, g = handle_next_gen(g))
		assert_int_not_equal(handle_make(9, g), handle_make(9, handle_next_gen(g)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encoding),
		cmocka_unit_test(test_slot_out_of_range),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_next_gen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
