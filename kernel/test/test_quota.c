/*
 * Host tests for kernel/domain/quota.c, the limits both platforms apply:
 * SYS_HEAP_GROW's region size, the heap window, the memory charge (exactly
 * at the limit fits, one page more does not), the default limit and the
 * thread limit, with the codes each returns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <domain/quota.h>
#include <maple/abi.h>

#define BASE (0x10000000000ul + 0x40000000ul) /* slot 1 */
#define HEAP (BASE + DOMAIN_HEAP_OFF)
#define END  (HEAP + DOMAIN_HEAP_MAX)

static void test_heap_region(void **state)
{
	(void)state;
	const struct {
		uint64_t bytes;
		long want;
	} rows[] = {
		{0, -MAPLE_EINVAL},
		{1, 64 << 10},
		{(64 << 10) - 1, 64 << 10},
		{64 << 10, 64 << 10},
		{(64 << 10) + 1, (64 << 10) + 4096},
		{(1 << 20) + 4095, (1 << 20) + 4096},
		{DOMAIN_HEAP_MAX - 1, DOMAIN_HEAP_MAX},
		{DOMAIN_HEAP_MAX, DOMAIN_HEAP_MAX},
		{DOMAIN_HEAP_MAX + 1, -MAPLE_EINVAL},
		{UINT64_MAX, -MAPLE_EINVAL},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		if (quota_heap_region(rows[i].bytes) != rows[i].want)
			fail_msg("row %zu: %#lx bytes: %ld, want %ld", i, rows[i].bytes,
				 quota_heap_region(rows[i].bytes), rows[i].want);
}

static void test_window(void **state)
{
	(void)state;
	const struct {
		uint64_t next, len;
		long want;
	} rows[] = {
		{HEAP, 64 << 10, 0},
		{HEAP, DOMAIN_HEAP_MAX, 0}, /* the whole window */
		{HEAP, DOMAIN_HEAP_MAX + 4096, -MAPLE_EQUOTA},
		{END - 4096, 4096, 0},		   /* exactly to its end */
		{END - 4096, 8192, -MAPLE_EQUOTA}, /* one page past it */
		{END, 0, 0},
		{END, 4096, -MAPLE_EQUOTA},		  /* full */
		{END + 4096, 0, -MAPLE_EQUOTA},		  /* a next past the end */
		{HEAP + 4096, UINT64_MAX, -MAPLE_EQUOTA}, /* no wrap-around */
		{HEAP + 4096, -(uint64_t)4096, -MAPLE_EQUOTA},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		if (quota_window(BASE, rows[i].next, rows[i].len) != rows[i].want)
			fail_msg("row %zu: %ld, want %ld", i,
				 quota_window(BASE, rows[i].next, rows[i].len), rows[i].want);
}

static void test_charge(void **state)
{
	(void)state;
	const struct {
		uint64_t charged, limit, pages;
		long want;
	} rows[] = {
		{0, 32768, 16, 0},
		{32752, 32768, 16, 0},		   /* exactly at the limit */
		{32753, 32768, 16, -MAPLE_EQUOTA}, /* one page past it */
		{32768, 32768, 0, 0},		   /* nothing more, at the limit */
		{32768, 32768, 1, -MAPLE_EQUOTA},
		{0, 32768, 32768, 0},
		{0, 32768, 32769, -MAPLE_EQUOTA},	/* more than the limit alone */
		{16, 32768, UINT64_MAX, -MAPLE_EQUOTA}, /* no wrap-around */
		{UINT64_MAX, 32768, 1, -MAPLE_EQUOTA},
		{0, 0, 1, -MAPLE_EQUOTA},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		if (quota_charge(rows[i].charged, rows[i].limit, rows[i].pages) != rows[i].want)
			fail_msg("row %zu: %ld, want %ld", i,
				 quota_charge(rows[i].charged, rows[i].limit, rows[i].pages),
				 rows[i].want);
}

static void test_default_limit(void **state)
{
	(void)state;
	/* 512 MiB of frames: 128 MiB, the VM's default and maple-hosted's. */
	assert_int_equal(quota_default_mem_pages((512ul << 20) / QUOTA_PAGE), 32768);
	assert_int_equal(quota_default_mem_pages(7), 1);
	assert_int_equal(quota_default_mem_pages(3), 0);
}

static void test_threads(void **state)
{
	(void)state;
	assert_int_equal(quota_thread(0, DOMAIN_THREADS_DEFAULT), 0);
	assert_int_equal(quota_thread(DOMAIN_THREADS_DEFAULT - 1, DOMAIN_THREADS_DEFAULT), 0);
	assert_int_equal(quota_thread(DOMAIN_THREADS_DEFAULT, DOMAIN_THREADS_DEFAULT),
			 -MAPLE_EAGAIN);
	assert_int_equal(quota_thread(DOMAIN_THREADS_DEFAULT + 1, DOMAIN_THREADS_DEFAULT),
			 -MAPLE_EAGAIN);
	assert_int_equal(quota_thread(0, 0), -MAPLE_EAGAIN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_region), cmocka_unit_test(test_window),
		cmocka_unit_test(test_charge),	    cmocka_unit_test(test_default_limit),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
