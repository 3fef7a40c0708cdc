/*
 * rogue's cases against its image's page rights (image_cases.h): code
 * stored in its read-only data, which the loader never scanned, must not
 * run. rogue.elf as built maps that data read-only, so the call faults;
 * hosted/tests_lifecycle.c makes an image whose program headers try to
 * give the page execute rights too.
 */
#include <test/rogue/cases.h>
#include <test/rogue/image_cases.h>
#include <test/rogue/landing.h>

#include <sdk/dom.h>

/* ROGUE_I_MARK, then WRPKRU (0f 01 ef) and RET (c3): data, not code. */
static const uint8_t rodata_wrpkru[] __attribute__((used, aligned(16))) = {
	'r', 'o', 'g', 'u', 'e', '-', 'x', 'r', 0x0f, 0x01, 0xef, 0xc3};
_Static_assert(sizeof(ROGUE_I_MARK) - 1 == 8, "the mark is the array's first 8 bytes");

/* Call the bytes after the mark with PKRU 0 in %eax; if they return, write
 * ROGUE_SCRIBBLE at `at`. */
static long call_rodata(unsigned long at)
{
	register uint64_t code __asm__("r10") = (uint64_t)&rodata_wrpkru[8];
	register uint64_t word __asm__("rdi") = at;
	long r;
	__asm__ volatile(ROGUE_PUSH_CALLEE_SAVED "xorl %%eax, %%eax\n\t"
						 "xorl %%ecx, %%ecx\n\t"
						 "xorl %%edx, %%edx\n\t"
						 "callq *%%r10\n\t" ROGUE_SCRIBBLE_AND_RETURN
			 : "=a"(r), "+r"(code), "+r"(word)
			 : [scribble] "i"(ROGUE_SCRIBBLE), [nc] "i"(ROGUE_NOT_CONTAINED)
			 : "rcx", "rdx", "memory", "cc");
	return r;
}

long rogue_image_case(long number, unsigned long target)
{
	switch (number) {
	case ROGUE_I_RODATA:
		return target ? call_rodata(target) : -MAPLE_EINVAL;
	default:
		return -MAPLE_EINVAL;
	}
}
