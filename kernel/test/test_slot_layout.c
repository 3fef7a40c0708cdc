/*
 * Host tests for kernel/domain/slot_layout.h, where both platforms put a
 * domain's slot and its threads' stacks: the slots tile the domain window,
 * a stack sits in the upper half of its stack slot (the lower half is its
 * guard), and the stacks, the heap window and the device stay apart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <domain/gate_layout.h>
#include <domain/slot_layout.h>

static void test_slot_base(void **state)
{
	(void)state;
	assert_int_equal(slot_base(0), MAPLE_DOMAIN_BASE);
	assert_int_equal(slot_base(1), 0x10040000000ul);
	assert_int_equal(slot_base(63), MAPLE_DOMAIN_BASE + 63 * MAPLE_DOMAIN_SLOT);
}

static void test_stacks(void **state)
{
	(void)state;
	uint64_t base = slot_base(2);
	/* Thread slot 0: 64 KiB of guard above the heap window's end, then
	 * its 64 KiB stack. */
	assert_int_equal(slot_stack_lo(base, 0), base + DOMAIN_STACK_OFF + (64 << 10));
	assert_int_equal(slot_stack_lo(base, 0) - (base + DOMAIN_HEAP_OFF + DOMAIN_HEAP_MAX),
			 DOMAIN_STACK_SLOT - DOMAIN_STACK_SIZE);
	/* Each next thread slot: one stack slot higher, a guard between. */
	assert_int_equal(slot_stack_lo(base, 1) - slot_stack_lo(base, 0), DOMAIN_STACK_SLOT);
	/* ... so thread slot 0's stack ends where slot 1's guard begins. */
	assert_int_equal(slot_stack_lo(base, 0) + DOMAIN_STACK_SIZE,
			 slot_stack_lo(base, 1) - (64 << 10));
	/* The last gate thread slot's stack ends below the device, which ends
	 * inside the slot. */
	uint64_t last = slot_stack_lo(base, GATE_MAX_THREADS - 1) + DOMAIN_STACK_SIZE;
	assert_true(last <= base + DOMAIN_DEVICE_OFF);
	assert_true(DOMAIN_DEVICE_OFF + (128ul << 20) <= MAPLE_DOMAIN_SLOT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slot_base),
		cmocka_unit_test(test_stacks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
