/*
 * rogue's jumps to the runtime's own PKRU writes (gadget_cases.h). Every
 * case ends, if the runtime lets it get that far, at one label that
 * reloads rogue's stack, stores ROGUE_SCRIBBLE at the word chosen and
 * returns ROGUE_NOT_CONTAINED: reached with PKRU 0 that store lands (a
 * TRUSTED word), reached with rogue's own rights it faults (SEGV_PKUERR).
 */
#include <test/rogue/attack5_cases.h>
#include <test/rogue/cases.h>
#include <test/rogue/gadget_cases.h>
#include <test/rogue/landing.h>
#include <test/rogue/sigframe.h>

#include <sdk/dom.h>

#define FRAME_ROOM 8192 /* the forged frame and its XSAVE area */

/* What the label needs, in rogue's memory: rogue's stack pointer with
 * its callee-saved registers pushed, and where to store. */
static uint64_t saved_rsp, scribble_at;
static uint8_t own_room[FRAME_ROOM] __attribute__((aligned(64)));

/*
 * Jump to site with %eax = %ecx = %edx = 0, %r11 = the label, %edi = sig,
 * %rsi = info, %r8 = uc and, if rsp is not 0, %rsp = rsp. A frame's uc
 * (not 0) gets the label as its return address and its resumed %rip, and
 * a SIGSEGV's siginfo the label as its si_addr (a refused fetch there).
 */
__attribute__((noinline)) static long jump_to(uint64_t site, uint64_t rsp, uint64_t info,
					      uint64_t uc, uint64_t sig)
{
	register uint64_t r10 __asm__("r10") = site;
	register uint64_t r9 __asm__("r9") = rsp;
	register uint64_t r8 __asm__("r8") = uc;
	long r;
	__asm__ volatile(ROGUE_PUSH_CALLEE_SAVED // the label reloads %rsp from saved_rsp
			 "movq %%rsp, %[saved]\n\t"
			 "leaq 1f(%%rip), %%r11\n\t"
			 "testq %%r8, %%r8\n\t"
			 "jz 3f\n\t"
			 "movq %%r11, -8(%%r8)\n\t"
			 "movq %%r11, %c[rip](%%r8)\n\t"
			 "cmpq %[segv], %%rdi\n\t"
			 "jne 3f\n\t"
			 "movq %%r11, 16(%%rsi)\n"
			 "3:\n\t"
			 "testq %%r9, %%r9\n\t"
			 "jz 2f\n\t"
			 "movq %%r9, %%rsp\n"
			 "2:\n\t"
			 "xorl %%eax, %%eax\n\t"
			 "xorl %%ecx, %%ecx\n\t"
			 "xorl %%edx, %%edx\n\t"
			 "jmp *%%r10\n"
			 "1:\n\t"
			 "movq %[saved], %%rsp\n\t"
			 "movq %[at], %%rdi\n\t" // the word to scribble
			 ROGUE_SCRIBBLE_AND_RETURN
			 : "=a"(r), "+r"(r10), "+r"(r9), "+r"(r8), "+S"(info),
			   "+D"(sig), [saved] "=m"(saved_rsp)
			 : [at] "m"(scribble_at), [scribble] "i"(ROGUE_SCRIBBLE),
			   [rip] "i"(offsetof(struct ucontext64, mc.rip)),
			   [nc] "i"(ROGUE_NOT_CONTAINED), [segv] "i"(ROGUE_LINUX_SIGSEGV)
			 : "rcx", "rdx", "r11", "memory", "cc");
	return r;
}

/* The head of a SIGSYS siginfo_t (uapi asm-generic/siginfo.h: si_signo,
 * si_errno, si_code, then the union's _sigsys at offset 16). */
struct sigsys_info {
	int32_t signo, err, code, pad;
	uint64_t call_addr; /* where the system call came from */
	int32_t syscall;
	uint32_t arch;
};
_Static_assert(sizeof(struct sigsys_info) <= sizeof((struct sigframe64 *)0)->info,
	       "the siginfo's place in the frame");

/*
 * A frame laid out as Linux lays out a handler's: its XSAVE area at the
 * top of [top - FRAME_ROOM, top), 64-byte aligned, and below it the frame
 * at an %rsp that is 8 past a 16-byte boundary (a call's, as a handler is
 * entered), so %rdx = %rsp + 8 and %rsi = %rsp + 8 + 304. NULL where there
 * is no PKRU to forge (keys are off).
 */
static struct sigframe64 *handler_frame(uint64_t top)
{
	uint8_t *xsave = (uint8_t *)((top - FRAME_ROOM / 2) & ~63ull);
	uint64_t rsp = ((uint64_t)(xsave - sizeof(struct sigframe64) - 16) & ~15ull) + 8;
	struct sigframe64 *f = (struct sigframe64 *)rsp;
	return rogue_forge_frame(f, xsave, FRAME_ROOM / 2, 0, 0, scribble_at) < 0 ? NULL : f;
}

/* A SIGSYS frame from rogue's own code, for a system call it made. */
static long sigsys_entry(uint64_t site, uint64_t top)
{
	struct sigframe64 *f = handler_frame(top);
	if (!f)
		return -MAPLE_EINVAL;
	struct sigsys_info *info = (struct sigsys_info *)f->info;
	*info = (struct sigsys_info){.signo = ROGUE_LINUX_SIGSYS,
				     .code = ROGUE_LINUX_SYS_USER_DISPATCH,
				     .call_addr = (uint64_t)&sigsys_entry, /* rogue's own code */
				     .syscall = SYS_NULL,
				     .arch = ROGUE_AUDIT_ARCH_X86_64};
	return jump_to(site, (uint64_t)f, (uint64_t)info, (uint64_t)&f->uc, ROGUE_LINUX_SIGSYS);
}

/* A SIGSEGV frame for a refused fetch at the label (jump_to writes
 * si_addr). */
static long fault_entry(uint64_t site, uint64_t top)
{
	struct sigframe64 *f = handler_frame(top);
	if (!f)
		return -MAPLE_EINVAL;
	int32_t *info = (int32_t *)f->info; /* si_signo, si_errno, si_code */
	info[0] = ROGUE_LINUX_SIGSEGV;
	info[1] = 0;
	info[2] = ROGUE_LINUX_SEGV_ACCERR;
	return jump_to(site, (uint64_t)f, (uint64_t)info, (uint64_t)&f->uc, ROGUE_LINUX_SIGSEGV);
}

long rogue_gadget_case(long number, uint64_t target, uint64_t a2, uint64_t a3)
{
	if (!target || !a2)
		return -MAPLE_EINVAL;
	scribble_at = a2;
	switch (number) {
	case ROGUE_G_ENTER_WRPKRU:
		return jump_to(target, 0, 0, 0, 0);
	case ROGUE_G_SIGSYS_ENTRY:
		return sigsys_entry(target, a3 ? a3 : (uint64_t)own_room + sizeof own_room);
	case ROGUE_A5_FAULT_ENTRY_RETRY:
		return fault_entry(target, a3 ? a3 : (uint64_t)own_room + sizeof own_room);
	default:
		return -MAPLE_EINVAL;
	}
}
