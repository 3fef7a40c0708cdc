/*
 * rogue's AVX-512 cases (wide_cases.h): what one domain leaves in %zmm0-31
 * and %k0-7 must not reach the next domain it calls or returns to, nor an
 * upcall the runtime makes; nor AMX's tile configuration a callee left
 * before it failed; and a tile instruction without Linux's permission
 * fails its domain; nor do a domain's unmasked floating-point exceptions
 * or bus locks reach the runtime.
 */
#include <test/rogue/cases.h>
#include <test/rogue/tiles_cases.h>
#include <test/rogue/wide_cases.h>

#include <maple/abi.h>
#include <sdk/dom.h>

#include <stdint.h>

/* Every %zmm register's 64 bytes, then %k0-7 as 64-bit words. */
static long peek(void)
{
	static uint64_t zmm[32][8] __attribute__((aligned(64)));
	static uint64_t k[8];
	__asm__ volatile(".irp r, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, "
			 "18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31\n\t"
			 "vmovdqu64 %%zmm\\r, \\r*64(%0)\n\t"
			 ".endr"
			 :
			 : "r"(zmm)
			 : "memory");
	__asm__ volatile("kmovq %%k0, 0(%0)\n\tkmovq %%k1, 8(%0)\n\t"
			 "kmovq %%k2, 16(%0)\n\tkmovq %%k3, 24(%0)\n\t"
			 "kmovq %%k4, 32(%0)\n\tkmovq %%k5, 40(%0)\n\t"
			 "kmovq %%k6, 48(%0)\n\tkmovq %%k7, 56(%0)"
			 :
			 : "r"(k)
			 : "memory");
	uint64_t acc = 0;
	for (unsigned r = 0; r < 32; r++)
		for (unsigned l = 0; l < 8; l++)
			acc |= zmm[r][l];
	for (unsigned r = 0; r < 8; r++)
		acc |= k[r];
	return (long)acc;
}

static void set(void)
{
	static const volatile uint64_t secret = ROGUE_Z_SECRET;
	__asm__ volatile("vpbroadcastq %0, %%zmm0\n\t"
			 "kmovq %0, %%k0\n\t"
			 ".irp r, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, "
			 "19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31\n\t"
			 "vmovdqa64 %%zmm0, %%zmm\\r\n\t"
			 ".endr\n\t"
			 ".irp r, 1, 2, 3, 4, 5, 6, 7\n\t"
			 "kmovq %%k0, %%k\\r\n\t"
			 ".endr"
			 :
			 : "m"(secret));
}

long rogue_wide_case(long number, unsigned long target, unsigned long a2)
{
	switch (number) {
	case ROGUE_Z_PEEK:
		return peek();
	case ROGUE_Z_SET:
		set();
		return 0;
	case ROGUE_Z_SET_FAIL:
		set();
		__asm__ volatile("ud2");
		return ROGUE_NOT_CONTAINED;
	case ROGUE_Z_LEAVE:
		set();
		return maple_xcall(target, Rogue_run_METHOD, ROGUE_Z_PEEK, 0, 0, 0);
	case ROGUE_Z_TILES_SET_FAIL:
		rogue_tiles_set();
		__asm__ volatile("ud2");
		return ROGUE_NOT_CONTAINED;
	case ROGUE_Z_TILES_CALLBACK_FAIL: {
		long r = maple_xcall(target, Rogue_run_METHOD, ROGUE_Z_TILES_SET_FAIL, 0, 0, 0);
		return r != -MAPLE_ECALLEE ? r : rogue_tiles_peek();
	}
	case ROGUE_Z_TILEZERO:
		rogue_tiles_set();
		__asm__ volatile("tilezero %%tmm0" : : : "memory");
		return ROGUE_NOT_CONTAINED;
	case ROGUE_Z_UNMASK: {
		static const volatile uint32_t mxcsr = 0;	     /* every exception unmasked */
		static const volatile uint16_t fcw = 0x037f & ~0x3f; /* likewise */
		__asm__ volatile("ldmxcsr %0\n\tfldcw %1" : : "m"(mxcsr), "m"(fcw));
		return 0;
	}
	case ROGUE_Z_SPLIT_LOCK: {
		static uint8_t line[128] __attribute__((aligned(64)));
		volatile uint32_t *word = (volatile uint32_t *)(line + 62);
		*word = 0;
		for (unsigned i = 0; i < ROGUE_Z_SPLIT_LOCKS; i++)
			__asm__ volatile("lock incl %0" : "+m"(*word));
		return (long)*word;
	}
	case ROGUE_Z_CALLBACK: {
		if (a2 != ROGUE_Z_SET && a2 != ROGUE_Z_SET_FAIL)
			return -MAPLE_EINVAL;
		long r = maple_xcall(target, Rogue_run_METHOD, (long)a2, 0, 0, 0);
		return r && r != -MAPLE_ECALLEE ? r : peek();
	}
	}
	return -MAPLE_EINVAL;
}
