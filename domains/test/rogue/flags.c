/*
 * rogue's cases against RFLAGS.AC crossing the gate (flags_cases.h): a
 * caller's alignment checks must not reach its callee, nor a callee's its
 * caller, or either could make the other fail at its first misaligned
 * access.
 */
#include <test/rogue/cases.h>
#include <test/rogue/flags_cases.h>

#include <maple/abi.h>
#include <sdk/dom.h>

#include <stdint.h>

#define RFLAGS_AC (1ull << 18)

/* 0x00, then ROGUE_FL_VALUE's bytes from the low one up. */
static const uint8_t words[16]
	__attribute__((aligned(16))) = {0x00, 0x00, 0x4b, 0x4f, 0x5f, 0x5f, 0x41, 0x4c, 0x4c};

static void set_ac(void)
{
	__asm__ volatile("pushfq\n\t"
			 "orq %0, (%%rsp)\n\t"
			 "popfq" ::"r"(RFLAGS_AC)
			 : "memory", "cc");
}

static void clear_ac(void)
{
	__asm__ volatile("pushfq\n\t"
			 "andq %0, (%%rsp)\n\t"
			 "popfq" ::"r"(~RFLAGS_AC)
			 : "memory", "cc");
}

/* One 8-byte load at words + 1, which RFLAGS.AC makes an alignment fault. */
static long misaligned(void)
{
	uint64_t v;
	__asm__ volatile("movq 1(%1), %0" : "=r"(v) : "r"(words) : "memory");
	return (long)v;
}

long rogue_flags_case(long number, unsigned long target)
{
	long r;
	switch (number) {
	case ROGUE_FL_CALL_WITH_AC:
		if (!target)
			return -MAPLE_EINVAL;
		set_ac();
		r = maple_xcall(target, Rogue_run_METHOD, ROGUE_FL_MISALIGNED, 0, 0, 0);
		clear_ac();
		return r;
	case ROGUE_FL_MISALIGNED:
		return misaligned();
	case ROGUE_FL_RETURN_WITH_AC:
		set_ac();
		return 0;
	case ROGUE_FL_CALL_GETS_AC:
		if (!target)
			return -MAPLE_EINVAL;
		r = maple_xcall(target, Rogue_run_METHOD, ROGUE_FL_RETURN_WITH_AC, 0, 0, 0);
		if (r == 0)
			r = misaligned();
		clear_ac();
		return r;
	default:
		return -MAPLE_EINVAL;
	}
}
