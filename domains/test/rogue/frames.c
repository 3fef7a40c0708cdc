/*
 * rogue's cases against maple-hosted's signal frames (frames_cases.h):
 * reading what another domain's system call left on the signal stack in
 * the same upcall, a fault under the gate's raised rights with a GS base
 * it zeroed or with the trap flag set, and a jump into a handler's entry
 * with a frame Linux wrote for a signal already handled; and the cases of
 * threads_cases.h: a jump into a handler's entry with another thread's
 * live frame, and real deliveries with both segment bases zeroed or one
 * written wrong by a jump to the runtime's base writes.
 */
#include <sdk/dom.h>
#include <sdk/syscall.h>
#include <test/rogue/attack4_cases.h>
#include <test/rogue/cases.h>
#include <test/rogue/frames_cases.h>
#include <test/rogue/sigframe.h>
#include <test/rogue/threads_cases.h>

/* Jump to site as Linux enters a handler whose frame is at rsp: %rsp
 * there, the ucontext in %r8 (the entry stub moved %rdx there before its
 * WRPKRU), the siginfo in %rsi, %eax = %ecx = %edx = 0. Nothing is
 * written. Should the handler return through that frame, rogue resumes
 * wherever the frame says. */
static long jump_as_handler(uint64_t site, uint64_t rsp)
{
	__asm__ volatile("movq %0, %%r10\n\t"
			 "movq %1, %%rsp\n\t"
			 "leaq %c2(%%rsp), %%r8\n\t"
			 "leaq %c3(%%rsp), %%rsi\n\t"
			 "xorl %%eax, %%eax\n\t"
			 "xorl %%ecx, %%ecx\n\t"
			 "xorl %%edx, %%edx\n\t"
			 "jmp *%%r10"
			 :
			 : "r"(site), "r"(rsp), "i"(offsetof(struct sigframe64, uc)),
			   "i"(offsetof(struct sigframe64, info))
			 : "memory");
	__builtin_unreachable();
}

/* iretq to site with RFLAGS.TF set (the trap comes after site's first
 * instruction), %eax = pkru and %ecx = %edx = 0, on this stack. */
static long iretq_with_trap_flag(uint64_t site, uint32_t pkru)
{
	__asm__ volatile("movq %%rsp, %%r8\n\t"
			 "xorl %%r9d, %%r9d\n\t"
			 "movw %%ss, %%r9w\n\t"
			 "pushq %%r9\n\t"
			 "pushq %%r8\n\t"
			 "pushfq\n\t"
			 "orq $0x100, (%%rsp)\n\t"
			 "movw %%cs, %%r9w\n\t"
			 "pushq %%r9\n\t"
			 "pushq %0\n\t"
			 "xorl %%ecx, %%ecx\n\t"
			 "xorl %%edx, %%edx\n\t"
			 "iretq"
			 :
			 : "r"(site), "a"(pkru)
			 : "rcx", "rdx", "r8", "r9", "memory", "cc");
	__builtin_unreachable();
}

long rogue_frames_case(long number, unsigned long target, unsigned long a2, unsigned long a3)
{
	if (!target)
		return -MAPLE_EINVAL;
	switch (number) {
	case ROGUE_F_CALL_THEN_SCAN: {
		long r = maple_xcall(target, Rogue_run_METHOD, ROGUE_H_LOG_SECRET, 0, 0, 0);
		if (r < 0)
			return r;
		return rogue_scan((const volatile unsigned char *)a2, a3);
	}
	case ROGUE_F_GS_RAISE:
		rogue_load_gs();
		return rogue_call_with_pkru(target, (unsigned)a2);
	case ROGUE_F_TF_RAISE:
		return iretq_with_trap_flag(target, (uint32_t)a2);
	case ROGUE_F_REPLAY_FRAME:
		if (syscall0(SYS_NULL) != 0 || !a2)
			return -MAPLE_EINVAL;
		return jump_as_handler(target, a2);
	default:
		return -MAPLE_EINVAL;
	}
}

/* %fs (which & ROGUE_TH_ZERO_FS) and %gs (which & ROGUE_TH_ZERO_GS)
 * loaded with the selector in %ss (a user data segment): base 0, where
 * the runtime's thread pointer and the thread's GATE_RO page were. */
static void zero_bases(unsigned which)
{
	if (which & ROGUE_TH_ZERO_FS)
		__asm__ volatile("movw %%ss, %%ax\n\tmovw %%ax, %%fs" : : : "rax", "memory");
	if (which & ROGUE_TH_ZERO_GS)
		__asm__ volatile("movw %%ss, %%ax\n\tmovw %%ax, %%gs" : : : "rax", "memory");
}

/* Call site with %rax = value: nothing else it may need (an audited base
 * write takes its value there). */
static long call_with_rax(uint64_t site, uint64_t value)
{
	__asm__ volatile("call *%0"
			 :
			 : "r"(site), "a"(value)
			 : "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc");
	return -MAPLE_EINVAL; /* the write's check let it come back */
}

long rogue_threads_case(long number, unsigned long target, unsigned long a2, unsigned long a3)
{
	switch (number) {
	case ROGUE_TH_JUMP_AT_FRAME:
		if (!target || !a2)
			return -MAPLE_EINVAL;
		if (a3)
			zero_bases(ROGUE_TH_ZERO_FS | ROGUE_TH_ZERO_GS);
		return jump_as_handler(target, a2);
	case ROGUE_TH_ZEROED_BASES:
		zero_bases(ROGUE_TH_ZERO_FS | ROGUE_TH_ZERO_GS);
		if (target == ROGUE_TH_NULL)
			return *(volatile long *)0;
		if (target == ROGUE_TH_SYSCALL)
			return syscall0(SYS_NULL);
		for (;;)
			__asm__ volatile("pause");
	case ROGUE_TH_BASE_WRITE:
		if (!target)
			return -MAPLE_EINVAL;
		zero_bases((unsigned)a3);
		return call_with_rax(target, a2);
	default:
		return -MAPLE_EINVAL;
	}
}
