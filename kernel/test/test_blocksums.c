/*
 * Host tests for drivers/block/bdev_shadow/blocksums.c, the block-device
 * shadow's per-block checksums (docs/recovery.md, "End-to-end integrity"):
 * the checksum sees every single-bit change and every length, never gives
 * BLOCKSUM_NONE, and the table judges reads as unknown, right, wrong, or
 * wrong at rest, and forgets and relearns blocks; blocks past the table
 * are untracked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../drivers/block/bdev_shadow/blocksums.h"

#define BS 4096

static uint8_t block[BS];

static void fill(uint8_t *b, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seed + i * 7);
}

/* Every one of a 4 KiB block's 32768 bits, flipped alone, changes the sum. */
static void test_every_single_bit_flip_changes_the_sum(void **state)
{
	(void)state;
	fill(block, BS, 1);
	uint64_t sum = blocksum_of(block, BS);
	for (size_t bit = 0; bit < BS * 8; bit++) {
		block[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_not_equal(blocksum_of(block, BS), sum);
		block[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_int_equal(blocksum_of(block, BS), sum);
}

/* Lengths that are not a multiple of 8 or of the lanes' 32 bytes: the tail
 * bytes count, and so does the length (zeros of two lengths differ). */
static void test_tail_bytes_and_length_count(void **state)
{
	(void)state;
	static const uint8_t zeros[BS];
	for (size_t len = 1; len < 80; len++) {
		fill(block, len, 3);
		uint64_t sum = blocksum_of(block, len);
		block[len - 1] ^= 0x80;
		assert_int_not_equal(blocksum_of(block, len), sum);
		assert_int_not_equal(blocksum_of(zeros, len), blocksum_of(zeros, len + 1));
	}
}

/* Words swapped between two places of one block change the sum. */
static void test_swapped_words_change_the_sum(void **state)
{
	(void)state;
	fill(block, BS, 5);
	uint64_t sum = blocksum_of(block, BS);
	uint8_t tmp[8];
	memcpy(tmp, block, 8);
	memcpy(block, block + 32, 8);
	memcpy(block + 32, tmp, 8);
	assert_int_not_equal(blocksum_of(block, BS), sum);
}

static void test_empty_data_is_not_none(void **state)
{
	(void)state;
	assert_int_not_equal(blocksum_of(block, 0), BLOCKSUM_NONE);
}

/* A new table knows nothing; a stored write judges its own contents right
 * and anything else wrong; forgetting makes the block unknown again. */
static void test_table_learns_judges_and_forgets(void **state)
{
	(void)state;
	struct blocksum sums[4];
	struct blocksums t;
	blocksums_init(&t, 4, BS, sums);
	fill(block, BS, 9);
	uint64_t a = blocksum_of(block, BS);
	block[100] ^= 1;
	uint64_t b = blocksum_of(block, BS);
	for (uint64_t i = 0; i < 4; i++)
		assert_int_equal(blocksums_judge(&t, i, a), BLOCKSUM_UNKNOWN);
	blocksums_stored(&t, 2, a);
	assert_int_equal(blocksums_want(&t, 2), a);
	assert_int_equal(blocksums_judge(&t, 2, a), BLOCKSUM_RIGHT);
	assert_int_equal(blocksums_judge(&t, 2, b), BLOCKSUM_WRONG);
	assert_int_equal(blocksums_judge(&t, 1, a), BLOCKSUM_UNKNOWN);
	blocksums_forget(&t, 2);
	assert_int_equal(blocksums_want(&t, 2), BLOCKSUM_NONE);
	assert_int_equal(blocksums_judge(&t, 2, b), BLOCKSUM_UNKNOWN);
}

/* Contents found wrong at rest judge as such until the block is written;
 * other wrong contents are still just wrong; a write clears the mark. */
static void test_at_rest_until_written(void **state)
{
	(void)state;
	struct blocksum sums[2];
	struct blocksums t;
	blocksums_init(&t, 2, BS, sums);
	blocksums_stored(&t, 0, 11);
	blocksums_at_rest(&t, 0, 22);
	assert_int_equal(blocksums_judge(&t, 0, 22), BLOCKSUM_AT_REST);
	assert_int_equal(blocksums_judge(&t, 0, 33), BLOCKSUM_WRONG);
	assert_int_equal(blocksums_judge(&t, 0, 11), BLOCKSUM_RIGHT);
	blocksums_stored(&t, 0, 44);
	assert_int_equal(blocksums_judge(&t, 0, 22), BLOCKSUM_WRONG);
	assert_int_equal(blocksums_judge(&t, 0, 44), BLOCKSUM_RIGHT);
}

/* Blocks past the table (a device larger than it tracks) are untracked:
 * a write there records nothing and any read of one is unknown, never
 * wrong; the tracked blocks below are unaffected. */
static void test_blocks_past_the_table_are_untracked(void **state)
{
	(void)state;
	struct blocksum sums[3] = {{0}}; /* the third: where an unguarded write of block 2 lands */
	struct blocksums t;
	blocksums_init(&t, 2, BS, sums);
	blocksums_stored(&t, 1, 11);
	blocksums_stored(&t, 2, 22);
	blocksums_at_rest(&t, 2, 33);
	assert_int_equal(blocksums_want(&t, 2), BLOCKSUM_NONE);
	assert_int_equal(blocksums_judge(&t, 2, 22), BLOCKSUM_UNKNOWN);
	assert_int_equal(blocksums_judge(&t, 2, 33), BLOCKSUM_UNKNOWN);
	assert_int_equal(blocksums_judge(&t, 1 << 30, 11), BLOCKSUM_UNKNOWN);
	blocksums_forget(&t, 5);
	assert_int_equal(blocksums_judge(&t, 1, 11), BLOCKSUM_RIGHT);
	assert_int_equal(blocksums_judge(&t, 1, 22), BLOCKSUM_WRONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_single_bit_flip_changes_the_sum),
		cmocka_unit_test(test_tail_bytes_and_length_count),
		cmocka_unit_test(test_swapped_words_change_the_sum),
		cmocka_unit_test(test_empty_data_is_not_none),
		cmocka_unit_test(test_table_learns_judges_and_forgets),
		cmocka_unit_test(test_at_rest_until_written),
		cmocka_unit_test(test_blocks_past_the_table_are_untracked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
