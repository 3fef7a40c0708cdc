/*
 * rogue's AMX tile-configuration cases (tiles_cases.h): a configuration
 * one domain loads must not reach the next domain it calls or returns to.
 */
#include <test/rogue/cases.h>
#include <test/rogue/tiles_cases.h>

#include <maple/abi.h>
#include <sdk/dom.h>

#include <stdint.h>

long rogue_tiles_peek(void)
{
	uint8_t cfg[64] __attribute__((aligned(64)));
	uint64_t word;
	__asm__ volatile("sttilecfg %0" : "=m"(cfg));
	__builtin_memcpy(&word, cfg + 16, sizeof word);
	return (long)word;
}

long rogue_tiles_set(void)
{
	/* Palette 1; tiles 0-3 of 1-4 rows of 4, 8, 12, 16 bytes (each at
	 * most 16 rows of 64 bytes, Intel SDM Vol. 2, LDTILECFG). */
	static const uint8_t cfg[64]
		__attribute__((aligned(64))) = {[0] = 1,  [16] = 4, [18] = 8, [20] = 12, [22] = 16,
						[48] = 1, [49] = 2, [50] = 3, [51] = 4};
	__asm__ volatile("ldtilecfg %0" : : "m"(cfg));
	return 0;
}

long rogue_tiles_case(long number, unsigned long target)
{
	switch (number) {
	case ROGUE_T_PEEK:
		return rogue_tiles_peek();
	case ROGUE_T_SET:
		return rogue_tiles_set();
	case ROGUE_T_LEAVE:
		rogue_tiles_set();
		return maple_xcall(target, Rogue_run_METHOD, ROGUE_T_PEEK, 0, 0, 0);
	case ROGUE_T_CALLBACK: {
		long r = maple_xcall(target, Rogue_run_METHOD, ROGUE_T_SET, 0, 0, 0);
		return r ? r : rogue_tiles_peek();
	}
	}
	return -MAPLE_EINVAL;
}
