/*
 * rogue's cases against maple-hosted's trusted entry (escape_cases.h): a
 * call to a `syscall` instruction of the runtime's own code, and an
 * rt_sigreturn through a signal frame rogue forged, whose XSAVE area gives
 * it PKRU 0. The frame's layout is Linux's x86-64 user ABI (uapi
 * asm/ucontext.h, asm/sigcontext.h: struct ucontext and struct sigcontext;
 * rt_sigreturn reads the frame at %rsp - 8, past the return address a
 * handler's `ret` popped); the XSAVE area's is the Intel SDM's (Vol. 1,
 * 13.4: the legacy area, the header at 512, each component at
 * CPUID.(EAX=0DH,ECX=i):EBX) with Linux's software bytes at 464 (uapi
 * asm/sigcontext.h, struct _fpx_sw_bytes) and FP_XSTATE_MAGIC2 after it.
 */
#include <test/rogue/cases.h>
#include <test/rogue/escape_cases.h>
#include <test/rogue/landing.h>
#include <test/rogue/sigframe.h>

#include <lib/string.h>
#include <sdk/dom.h>

#define FP_XSTATE_MAGIC1 0x46505853u
#define FP_XSTATE_MAGIC2 0x46505845u
#define XFEATURE_PKRU	 9
#define XSAVE_SW_BYTES	 464
#define XSAVE_HEADER	 512

static struct sigframe64 frame __attribute__((aligned(64)));
static uint8_t xsave[4096] __attribute__((aligned(64))); /* XRSTOR needs 64-byte alignment */

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* The offset of the PKRU component in a standard-format XSAVE area, or 0
 * where XCR0 does not enable it (no PKU, or an OS that does not use it). */
static uint32_t pkru_offset(void)
{
	uint32_t a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	if (!(c >> 27 & 1)) /* OSXSAVE: XGETBV is usable */
		return 0;
	__asm__ volatile("xgetbv" : "=a"(a), "=d"(d) : "c"(0));
	if (!(a >> XFEATURE_PKRU & 1))
		return 0;
	__asm__ volatile("cpuid"
			 : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
			 : "a"(0xd), "c"(XFEATURE_PKRU));
	return b;
}

/* An XSAVE area at x (len bytes) that XRSTOR turns into PKRU 0 and the init
 * state of every other component; 0, or -1 where there is no PKRU to forge. */
static int forge_xsave(uint8_t *x, size_t len)
{
	uint32_t off = pkru_offset();
	if (!off || off + 8 + 4 > len)
		return -1;
	memset(x, 0, len);
	put32(x + 0, 0x037f);	 /* FCW's init value */
	put32(x + 24, 0x1f80);	 /* MXCSR's init value: any other may #GP */
	uint32_t size = off + 8; /* the area ends with the PKRU component */
	put32(x + XSAVE_SW_BYTES, FP_XSTATE_MAGIC1);
	put32(x + XSAVE_SW_BYTES + 4, size + 4); /* extended_size: magic2 included */
	put64(x + XSAVE_SW_BYTES + 8, 1ull << XFEATURE_PKRU);
	put32(x + XSAVE_SW_BYTES + 16, size);
	put64(x + XSAVE_HEADER, 1ull << XFEATURE_PKRU); /* XSTATE_BV */
	put32(x + off, 0);				/* PKRU 0: every key */
	put32(x + size, FP_XSTATE_MAGIC2);
	return 0;
}

int rogue_forge_frame(struct sigframe64 *f, uint8_t *x, size_t len, uint64_t rip, uint64_t rsp,
		      uint64_t rdi)
{
	uint16_t cs, ss;
	__asm__ volatile("movw %%cs, %0\n\tmovw %%ss, %1" : "=r"(cs), "=r"(ss));
	memset(f, 0, sizeof *f);
	f->uc.mc.rip = rip;
	f->uc.mc.rsp = rsp;
	f->uc.mc.rdi = rdi;
	f->uc.mc.eflags = 0x202; /* IF and the always-set bit */
	f->uc.mc.cs = cs;
	f->uc.mc.ss = ss;
	f->uc.mc.fpstate = forge_xsave(x, len) < 0 ? 0 : (uint64_t)x;
	return f->uc.mc.fpstate ? 0 : -1;
}

/*
 * Jump to `site` with %eax = rt_sigreturn, %rdi = token and %rsp at the
 * forged frame's ucontext. The frame resumes at label 1 with its own
 * registers: %rsp where the callee-saved ones were pushed, %rdi the
 * address to scribble, and (if Linux obeyed) every key.
 */
__attribute__((noinline)) static long sigreturn_via(uint64_t site, uint64_t token)
{
	register uint64_t r11 __asm__("r11") = site;
	struct sigframe64 *f = &frame;
	long r;
	__asm__ volatile(
		ROGUE_PUSH_CALLEE_SAVED // the frame resumes with %rsp here
		"movq %%rsp, %c[rsp](%[f])\n\t"
		"leaq 1f(%%rip), %%rax\n\t"
		"movq %%rax, %c[rip](%[f])\n\t"
		"leaq %c[uc](%[f]), %%rsp\n\t"
		"movl %[nr], %%eax\n\t"
		"jmp *%%r11\n"
		"1:\n\t" // and %rdi the frame's: the word to scribble
		ROGUE_SCRIBBLE_AND_RETURN
		: "=a"(r), "+r"(r11), [f] "+S"(f), "+D"(token)
		: [rsp] "i"(offsetof(struct sigframe64, uc.mc.rsp)),
		  [rip] "i"(offsetof(struct sigframe64, uc.mc.rip)),
		  [uc] "i"(offsetof(struct sigframe64, uc)), [nr] "i"(ROGUE_LINUX_RT_SIGRETURN),
		  [scribble] "i"(ROGUE_SCRIBBLE), [nc] "i"(ROGUE_NOT_CONTAINED)
		: "rcx", "rdx", "r8", "r9", "r10", "memory", "cc");
	return r;
}

static long forged_sigreturn(uint64_t site, uint64_t scribble_at, uint64_t token)
{
	/* %rip and %rsp are sigreturn_via's to fill; without PKU there is no
	 * PKRU to forge, and the frame goes without an XSAVE area. */
	rogue_forge_frame(&frame, xsave, sizeof xsave, 0, 0, scribble_at);
	return sigreturn_via(site, token);
}

long rogue_escape_case(long number, uint64_t target, uint64_t a2, uint64_t a3)
{
	if (!target)
		return -MAPLE_EINVAL;
	switch (number) {
	case ROGUE_E_CALL_SYSCALL: {
		long r;
		__asm__ volatile("call *%[site]"
				 : "=a"(r)
				 : "a"(a2), [site] "r"(target)
				 : "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory",
				   "cc");
		return r;
	}
	case ROGUE_E_FORGED_SIGRETURN:
		return a2 ? forged_sigreturn(target, a2, a3) : -MAPLE_EINVAL;
	default:
		return -MAPLE_EINVAL;
	}
}
