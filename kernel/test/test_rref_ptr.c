/*
 * Host test for the SDK's rref_ptr (domains/sdk/rref.h): RREF_NULL must not
 * name memory. Its payload bits are 0, and payload offset 0 is the first
 * object on the shared heap, so a handle-to-pointer map without the NULL case
 * gives a driver that follows RREF_NULL someone else's live object
 * (docs/bench-faults.md, finding 1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../domains/sdk/rref.h"

static void null_handle_is_null_pointer(void **state)
{
	(void)state;
	assert_null(rref_ptr(RREF_NULL));
}

/* A real handle whose payload is the heap's first 64 bytes still names them. */
static void first_payload_is_the_heap_start(void **state)
{
	(void)state;
	rref_t first = RREF_HANDLE(1, 0, SHARED_HEAP_VA);
	assert_ptr_equal(rref_ptr(first), (void *)SHARED_HEAP_VA);
	rref_t later = RREF_HANDLE(7, 3, SHARED_HEAP_VA + 5 * 64);
	assert_ptr_equal(rref_ptr(later), (void *)(SHARED_HEAP_VA + 5 * 64));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(null_handle_is_null_pointer),
		cmocka_unit_test(first_payload_is_the_heap_start),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
