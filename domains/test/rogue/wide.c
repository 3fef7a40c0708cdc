/*
 * rogue's register-state cases (wide_cases.h): what one domain leaves in
 * %zmm0-31 and %k0-7, in the x87 and SSE control and status words and
 * the x87 pointers, or in AMX's tile configuration before it fails, must
 * not reach the next domain it calls or returns to, nor an upcall the
 * runtime makes; a tile instruction without Linux's permission fails its
 * domain; a domain's unmasked floating-point exceptions and bus locks
 * do not reach the runtime; and the odd loads and stores (direct,
 * non-temporal, masked, scatter and gather, XSAVE, string, 16-byte
 * atomic, compress and expand) are protection keys' like any other.
 */
#include <test/rogue/cases.h>
#include <test/rogue/tiles_cases.h>
#include <test/rogue/wide_cases.h>

#include <maple/abi.h>
#include <sdk/dom.h>

#include <stdint.h>

/* Every %zmm register's 64 bytes, then %k0-7 as 64-bit words. */
static long zmm_peek(void)
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

static long zmm_set(void)
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
	return 0;
}

#define FCW_INIT   0x037f /* Intel SDM Vol. 1, 8.1.5: FNINIT's */
#define MXCSR_INIT 0x1f80

/* The first 32 bytes of FXSAVE's area: FCW, FSW, the abridged tag word,
 * FOP, FIP, FDP and MXCSR (Intel SDM Vol. 1, 10.5.1), each against its
 * initial value. */
static long control_peek(void)
{
	static uint8_t area[512] __attribute__((aligned(16)));
	__asm__ volatile("fxsave %0" : "=m"(area));
	uint16_t fcw, fsw, fop;
	uint32_t mxcsr;
	uint64_t fip, fdp;
	__builtin_memcpy(&fcw, area, 2);
	__builtin_memcpy(&fsw, area + 2, 2);
	__builtin_memcpy(&fop, area + 6, 2);
	__builtin_memcpy(&fip, area + 8, 8);
	__builtin_memcpy(&fdp, area + 16, 8);
	__builtin_memcpy(&mxcsr, area + 24, 4);
	return (long)((uint64_t)(fcw ^ FCW_INIT) | fsw | area[4] | fop | fip | fdp |
		      (mxcsr ^ MXCSR_INIT));
}

/* Round toward zero in both, every exception flag of MXCSR raised (all
 * still masked), and an x87 load that leaves its opcode, its instruction
 * and data pointers (rogue's addresses) and a full register. */
static long control_set(void)
{
	static const volatile uint32_t mxcsr = MXCSR_INIT | 0x6000 | 0x3f;
	static const volatile uint16_t fcw = FCW_INIT | 0x0c00;
	static const volatile double one = 1.0;
	__asm__ volatile("ldmxcsr %0\n\tfldcw %1\n\tfldl %2" : : "m"(mxcsr), "m"(fcw), "m"(one));
	return 0;
}

static const struct {
	long (*peek)(void);
	long (*set)(void);
} kinds[ROGUE_Z_KINDS] = {
	[ROGUE_Z_ZMM] = {zmm_peek, zmm_set},
	[ROGUE_Z_CONTROL] = {control_peek, control_set},
	[ROGUE_Z_TILES] = {rogue_tiles_peek, rogue_tiles_set},
};

/* ROGUE_Z_STORE: the 64 bytes at `at`, by instruction `by`. */
static long store(uint8_t *at, unsigned long by)
{
	static uint8_t src[512] __attribute__((aligned(64))) = {[0 ... 511] = 0x5e};
	static const uint64_t lanes[8] = {0, 8, 16, 24, 32, 40, 48, 56};
	switch (by) {
	case ROGUE_Z_BY_MOVDIR64B:
		__asm__ volatile("movdir64b (%1), %0" : : "r"(at), "r"(src) : "memory");
		return 0;
	case ROGUE_Z_BY_MOVDIRI:
		__asm__ volatile("movdiri %1, (%0)" : : "r"(at), "r"(~0ull) : "memory");
		return 0;
	case ROGUE_Z_BY_MASKMOVDQU:
		__asm__ volatile("movdqu (%1), %%xmm0\n\tpcmpeqb %%xmm1, %%xmm1\n\t"
				 "maskmovdqu %%xmm1, %%xmm0"
				 :
				 : "D"(at), "r"(src)
				 : "memory");
		return 0;
	case ROGUE_Z_BY_SCATTER:
		__asm__ volatile("vmovdqu64 (%1), %%zmm1\n\tvmovdqu64 (%2), %%zmm2\n\t"
				 "kxnorb %%k1, %%k1, %%k1\n\t"
				 "vpscatterqq %%zmm2, (%0, %%zmm1, 1) %{%%k1%}"
				 :
				 : "r"(at), "r"(lanes), "r"(src)
				 : "memory");
		return 0;
	case ROGUE_Z_BY_XSAVE:
		__asm__ volatile("xsave (%0)" : : "r"(at), "a"(3), "d"(0) : "memory");
		return 0;
	case ROGUE_Z_BY_REP_MOVSB: {
		void *d = at;
		const void *sp = src;
		unsigned long n = 64;
		__asm__ volatile("rep movsb" : "+D"(d), "+S"(sp), "+c"(n) : : "memory");
		return 0;
	}
	case ROGUE_Z_BY_CMPXCHG16B:
		__asm__ volatile("lock cmpxchg16b (%0)"
				 :
				 : "r"(at), "a"(0), "d"(0), "b"(1), "c"(1)
				 : "memory", "cc");
		return 0;
	case ROGUE_Z_BY_COMPRESS:
		__asm__ volatile("vmovdqu64 (%1), %%zmm1\n\tkxnorb %%k1, %%k1, %%k1\n\t"
				 "vpcompressq %%zmm1, (%0) %{%%k1%}"
				 :
				 : "r"(at), "r"(src)
				 : "memory");
		return 0;
	}
	return -MAPLE_EINVAL;
}

/* ROGUE_Z_LOAD: the OR of the 64 bytes at `at`, read by instruction `by`. */
static long load(const uint8_t *at, unsigned long by)
{
	static uint64_t got[64] __attribute__((aligned(64)));
	static const uint64_t lanes[8] = {0, 8, 16, 24, 32, 40, 48, 56};
	switch (by) {
	case ROGUE_Z_BY_MOVDIR64B:
		__asm__ volatile("vmovdqu64 (%1), %%zmm1\n\tvmovdqu64 %%zmm1, (%0)"
				 :
				 : "r"(got), "r"(at)
				 : "memory");
		break;
	case ROGUE_Z_BY_MOVDIRI:
		__asm__ volatile("movntdqa (%1), %%xmm1\n\tmovdqa %%xmm1, (%0)"
				 :
				 : "r"(got), "r"(at)
				 : "memory");
		break;
	case ROGUE_Z_BY_MASKMOVDQU:
		__asm__ volatile("lddqu (%1), %%xmm1\n\tmovdqa %%xmm1, (%0)"
				 :
				 : "r"(got), "r"(at)
				 : "memory");
		break;
	case ROGUE_Z_BY_SCATTER:
		__asm__ volatile("vmovdqu64 (%2), %%zmm1\n\tkxnorb %%k1, %%k1, %%k1\n\t"
				 "vpxorq %%zmm2, %%zmm2, %%zmm2\n\t"
				 "vpgatherqq (%1, %%zmm1, 1), %%zmm2 %{%%k1%}\n\t"
				 "vmovdqu64 %%zmm2, (%0)"
				 :
				 : "r"(got), "r"(at), "r"(lanes)
				 : "memory");
		break;
	case ROGUE_Z_BY_XSAVE:
		__asm__ volatile("fxrstor (%0)" : : "r"(at) : "memory");
		break;
	case ROGUE_Z_BY_REP_MOVSB: {
		void *d = got;
		const void *sp = at;
		unsigned long n = 64;
		__asm__ volatile("rep movsb" : "+D"(d), "+S"(sp), "+c"(n) : : "memory");
		break;
	}
	case ROGUE_Z_BY_CMPXCHG16B: {
		uint64_t lo = 0, hi = 0;
		__asm__ volatile("lock cmpxchg16b (%2)"
				 : "+a"(lo), "+d"(hi)
				 : "r"(at), "b"(0), "c"(0)
				 : "memory", "cc");
		got[0] = lo | hi;
		break;
	}
	case ROGUE_Z_BY_COMPRESS:
		__asm__ volatile("kxnorb %%k1, %%k1, %%k1\n\t"
				 "vpexpandq (%1), %%zmm1 %{%%k1%}\n\tvmovdqu64 %%zmm1, (%0)"
				 :
				 : "r"(got), "r"(at)
				 : "memory");
		break;
	default:
		return -MAPLE_EINVAL;
	}
	uint64_t acc = 0;
	for (unsigned i = 0; i < 8; i++)
		acc |= got[i];
	return (long)acc;
}

long rogue_wide_case(long number, unsigned long target, unsigned long a2, unsigned long a3)
{
	if (number >= ROGUE_Z_PEEK && number <= ROGUE_Z_LEAVE && a2 >= ROGUE_Z_KINDS)
		return -MAPLE_EINVAL;
	switch (number) {
	case ROGUE_Z_PEEK:
		return kinds[a2].peek();
	case ROGUE_Z_SET:
		return kinds[a2].set();
	case ROGUE_Z_SET_FAIL:
		kinds[a2].set();
		__asm__ volatile("ud2");
		return ROGUE_NOT_CONTAINED;
	case ROGUE_Z_LEAVE:
		kinds[a2].set();
		return maple_xcall(target, Rogue_run_METHOD, ROGUE_Z_PEEK, 0, (long)a2, 0);
	case ROGUE_Z_CALLBACK: {
		if ((a2 != ROGUE_Z_SET && a2 != ROGUE_Z_SET_FAIL) || a3 >= ROGUE_Z_KINDS)
			return -MAPLE_EINVAL;
		long r = maple_xcall(target, Rogue_run_METHOD, (long)a2, 0, (long)a3, 0);
		return r && r != -MAPLE_ECALLEE ? r : kinds[a3].peek();
	}
	case ROGUE_Z_STORE:
		return target ? store((uint8_t *)target, a2) : -MAPLE_EINVAL;
	case ROGUE_Z_LOAD:
		return target ? load((const uint8_t *)target, a2) : -MAPLE_EINVAL;
	case ROGUE_Z_TILEZERO:
		rogue_tiles_set();
		__asm__ volatile("tilezero %%tmm0" : : : "memory");
		return ROGUE_NOT_CONTAINED;
	case ROGUE_Z_UNMASK: {
		static const volatile uint32_t mxcsr = 0; /* every exception unmasked */
		static const volatile uint16_t fcw = FCW_INIT & ~0x3f; /* likewise */
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
	}
	return -MAPLE_EINVAL;
}
