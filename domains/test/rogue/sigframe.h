/*
 * Linux's x86-64 signal frame as rogue forges it (escape.c builds it,
 * escape.c and gadget.c hand it to the runtime): struct rt_sigframe of
 * arch/x86/include/asm/sigframe.h over the user ABI's struct ucontext and
 * struct sigcontext (uapi asm/ucontext.h, asm/sigcontext.h). A handler is
 * entered with %rsp at pretcode, %rdx at uc and %rsi at info
 * (arch/x86/kernel/signal.c); rt_sigreturn reads the frame at %rsp - 8,
 * past the return address a handler's `ret` popped.
 */
#ifndef DOMAINS_ROGUE_SIGFRAME_H
#define DOMAINS_ROGUE_SIGFRAME_H

#include <stddef.h>
#include <stdint.h>

struct sigcontext64 {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2, fpstate, reserved[8];
};

struct ucontext64 {
	uint64_t flags, link;
	uint64_t ss_sp;
	uint32_t ss_flags, pad;
	uint64_t ss_size;
	struct sigcontext64 mc;
	uint64_t sigmask;
};

struct sigframe64 {
	uint64_t pretcode; /* what the handler's `ret` pops: %rsp points here on entry */
	struct ucontext64 uc;
	uint8_t info[128]; /* siginfo_t */
};

_Static_assert(offsetof(struct ucontext64, mc) == 40 && sizeof(struct sigcontext64) == 256 &&
		       offsetof(struct ucontext64, sigmask) == 296 &&
		       offsetof(struct sigframe64, info) == 8 + 304,
	       "Linux's x86-64 struct ucontext, struct sigcontext and struct rt_sigframe");

/* Fill f for a return to rip with %rsp = rsp and %rdi = rdi, the current
 * code and stack selectors, RFLAGS 0x202, and an XSAVE area at xsave
 * (len bytes, 64-byte aligned) that XRSTOR turns into PKRU 0 (every key)
 * and the init state of every other component. 0, or -1 where the CPU's
 * XCR0 has no PKRU component to forge (no PKU) or len is too short. */
int rogue_forge_frame(struct sigframe64 *f, uint8_t *xsave, size_t len, uint64_t rip, uint64_t rsp,
		      uint64_t rdi);

#endif
