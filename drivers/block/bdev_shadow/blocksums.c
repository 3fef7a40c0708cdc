/*
 * blocksums: the shadow's per-block checksums (blocksums.h). Entries are
 * read and written with relaxed atomics: calls on different blocks run
 * concurrently, and a batch names each block at most once, so two calls on
 * one block are the client's own race, as on the device.
 */
#include "blocksums.h"

#define LANES 4

/*
 * Four independent multiply-xor lanes over 8-byte words (the latency of one
 * lane's chain, not the multiplier, bounds a single lane), then the tail
 * bytes and the length, then a final mix. Each step h = (h ^ w) * odd is a
 * bijection of h for a given w, so any change of one word changes its lane's
 * result; lanes and length are mixed at the end.
 */
uint64_t blocksum_of(const void *data, size_t len)
{
	const uint64_t k = 0x9e3779b97f4a7c15ULL;
	uint64_t h[LANES] = {0x243f6a8885a308d3ULL, 0x13198a2e03707344ULL, 0xa4093822299f31d0ULL,
			     0x082efa98ec4e6c89ULL};
	const uint8_t *p = data;
	size_t words = len / 8, i = 0;
	for (; i + LANES <= words; i += LANES)
		for (int l = 0; l < LANES; l++) {
			uint64_t w;
			__builtin_memcpy(&w, p + (i + (size_t)l) * 8, 8);
			h[l] = (h[l] ^ w) * k;
		}
	uint64_t x = len;
	for (; i < words; i++) {
		uint64_t w;
		__builtin_memcpy(&w, p + i * 8, 8);
		x = (x ^ w) * k;
	}
	for (size_t b = words * 8; b < len; b++)
		x = (x ^ p[b]) * k;
	for (int l = 0; l < LANES; l++)
		x = (x ^ h[l] ^ (h[l] >> 29)) * k;
	x ^= x >> 32;
	return x == BLOCKSUM_NONE ? 1 : x;
}

void blocksums_init(struct blocksums *t, uint64_t nblocks, uint64_t block_size,
		    struct blocksum *sums)
{
	t->nblocks = nblocks;
	t->block_size = block_size;
	t->sums = sums;
	for (uint64_t b = 0; b < nblocks; b++)
		sums[b] = (struct blocksum){BLOCKSUM_NONE, BLOCKSUM_NONE};
}

void blocksums_stored(struct blocksums *t, uint64_t block, uint64_t sum)
{
	if (block >= t->nblocks)
		return; /* untracked */
	__atomic_store_n(&t->sums[block].bad, BLOCKSUM_NONE, __ATOMIC_RELAXED);
	__atomic_store_n(&t->sums[block].want, sum, __ATOMIC_RELAXED);
}

void blocksums_forget(struct blocksums *t, uint64_t block)
{
	blocksums_stored(t, block, BLOCKSUM_NONE);
}

enum blocksum_verdict blocksums_judge(const struct blocksums *t, uint64_t block, uint64_t sum)
{
	if (block >= t->nblocks)
		return BLOCKSUM_UNKNOWN; /* untracked */
	uint64_t want = __atomic_load_n(&t->sums[block].want, __ATOMIC_RELAXED);
	if (want == BLOCKSUM_NONE)
		return BLOCKSUM_UNKNOWN;
	if (sum == want)
		return BLOCKSUM_RIGHT;
	if (sum == __atomic_load_n(&t->sums[block].bad, __ATOMIC_RELAXED))
		return BLOCKSUM_AT_REST;
	return BLOCKSUM_WRONG;
}

void blocksums_at_rest(struct blocksums *t, uint64_t block, uint64_t sum)
{
	if (block >= t->nblocks)
		return; /* untracked: never judged wrong, so never called for it */
	__atomic_store_n(&t->sums[block].bad, sum, __ATOMIC_RELAXED);
}

uint64_t blocksums_want(const struct blocksums *t, uint64_t block)
{
	if (block >= t->nblocks)
		return BLOCKSUM_NONE; /* untracked */
	return __atomic_load_n(&t->sums[block].want, __ATOMIC_RELAXED);
}
