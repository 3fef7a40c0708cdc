/*
 * rogue's cases from the attack4 review of maple-hosted (attack4_cases.h):
 * a call to Linux's vsyscall page, the vector registers a method finds or
 * is handed back, a reader of memory another domain's system call may
 * have left its bytes in, %fs and %gs loaded with a selector, a jump
 * into 32-bit mode, and RFLAGS.AC set at a syscall. Domains are built with -mgeneral-regs-only, so
 * the compiler itself never touches a vector register: only the assembly
 * here does.
 */
#include <sdk/dom.h>
#include <sdk/syscall.h>
#include <test/rogue/attack4_cases.h>
#include <test/rogue/cases.h>

/* The OR of every 64-bit word of the x87 registers ST0-7 and of
 * %xmm0-%xmm15, and of the x87 tag byte, as FXSAVE stores them (Intel SDM
 * Vol. 1, 10.5.1: offsets 32-415, and 4 for the abridged tag word, 0 when
 * every x87 register is empty). FXSAVE reads the registers' raw contents,
 * empty or not. */
static long vectors_or(void)
{
	static uint64_t area[64] __attribute__((aligned(16)));
	__asm__ volatile("fxsave %0" : "=m"(area));
	uint64_t acc = ((const uint8_t *)area)[4];
	for (unsigned i = 32 / 8; i < 416 / 8; i++)
		acc |= area[i];
	return (long)acc;
}

/* ROGUE_H_SECRET in both halves of every %xmm register and in ST0. */
static void vectors_set(void)
{
	static const volatile int64_t secret = (int64_t)ROGUE_H_SECRET;
	__asm__ volatile("fildq %0" : : "m"(secret));
	__asm__ volatile("movq %0, %%xmm0\n\t"
			 "punpcklqdq %%xmm0, %%xmm0\n\t"
			 "movdqa %%xmm0, %%xmm1\n\t"
			 "movdqa %%xmm0, %%xmm2\n\t"
			 "movdqa %%xmm0, %%xmm3\n\t"
			 "movdqa %%xmm0, %%xmm4\n\t"
			 "movdqa %%xmm0, %%xmm5\n\t"
			 "movdqa %%xmm0, %%xmm6\n\t"
			 "movdqa %%xmm0, %%xmm7\n\t"
			 "movdqa %%xmm0, %%xmm8\n\t"
			 "movdqa %%xmm0, %%xmm9\n\t"
			 "movdqa %%xmm0, %%xmm10\n\t"
			 "movdqa %%xmm0, %%xmm11\n\t"
			 "movdqa %%xmm0, %%xmm12\n\t"
			 "movdqa %%xmm0, %%xmm13\n\t"
			 "movdqa %%xmm0, %%xmm14\n\t"
			 "movdqa %%xmm0, %%xmm15"
			 :
			 : "r"(ROGUE_H_SECRET));
}

/* gettimeofday(&tv, NULL) through the vsyscall page: a call, so that
 * Linux's emulation returns here as from a function. */
static long vsyscall_gettimeofday(void)
{
	static uint64_t tv[2];
	long r;
	__asm__ volatile("call *%1"
			 : "=a"(r)
			 : "r"(ROGUE_H_VSYSCALL_VA), "D"(tv), "S"(0)
			 : "rcx", "rdx", "r8", "r9", "r10", "r11", "memory", "cc");
	return r;
}

/* The secret in every callee-saved register at a SYS_LOG of its bytes. */
static long log_secret(void)
{
	static const char line[] = "attack4: S3CR3T!! in a log line";
	long r;
	__asm__ volatile("pushq %%rbp\n\t"
			 "movq %4, %%rbx\n\t"
			 "movq %4, %%rbp\n\t"
			 "movq %4, %%r12\n\t"
			 "movq %4, %%r13\n\t"
			 "movq %4, %%r14\n\t"
			 "movq %4, %%r15\n\t"
			 "syscall\n\t"
			 "popq %%rbp"
			 : "=a"(r)
			 : "a"(SYS_LOG), "D"(line), "S"(sizeof line - 1), "r"(ROGUE_H_SECRET)
			 : "rbx", "rcx", "r11", "r12", "r13", "r14", "r15", "memory");
	return r;
}

long rogue_scan(const volatile unsigned char *p, unsigned long len)
{
	const uint64_t secret = ROGUE_H_SECRET;
	const uint8_t *s = (const uint8_t *)&secret;
	for (uint64_t i = 0; i + 8 <= len; i++) {
		unsigned k = 0;
		while (k < 8 && p[i + k] == s[k])
			k++;
		if (k == 8)
			return (long)i;
	}
	return -1;
}

/* A user data selector (the one in %ss) into %fs or %gs: base 0. */
static void load_fs(void)
{
	__asm__ volatile("movw %%ss, %%ax\n\tmovw %%ax, %%fs" : : : "rax", "memory");
}

void rogue_load_gs(void)
{
	__asm__ volatile("movw %%ss, %%ax\n\tmovw %%ax, %%gs" : : : "rax", "memory");
}

/* A far jump through a memory operand (m16:32: offset 0, then the
 * selector), not a far return: QEMU's TCG checks a far return's stack
 * reads as supervisor accesses (SMAP), which the PKU guest's Linux takes
 * for a kernel oops. */
static long compat_jump(void)
{
	static const struct __attribute__((packed)) {
		uint32_t offset;
		uint16_t selector;
	} to = {0, ROGUE_H_USER32_CS};
	__asm__ volatile("ljmpl *%0" : : "m"(to) : "memory");
	return ROGUE_NOT_CONTAINED;
}

#define RFLAGS_AC (1u << 18)

static void set_ac(void)
{
	__asm__ volatile("pushfq\n\t"
			 "orl %0, (%%rsp)\n\t"
			 "popfq"
			 :
			 : "i"(RFLAGS_AC)
			 : "memory", "cc");
}

/* A call, not a jump: should the gate code return, run() reports it. */
long rogue_call_with_pkru(unsigned long addr, unsigned pkru)
{
	__asm__ volatile("xorl %%ecx, %%ecx\n\t"
			 "xorl %%edx, %%edx\n\t"
			 "call *%0"
			 :
			 : "r"(addr), "a"(pkru)
			 : "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc");
	return ROGUE_NOT_CONTAINED;
}

long rogue_attack4_case(long number, unsigned long target, unsigned long a2, unsigned long a3)
{
	switch (number) {
	case ROGUE_H_VSYSCALL:
		return vsyscall_gettimeofday();
	case ROGUE_H_VECTORS:
		return vectors_or();
	case ROGUE_H_VECTORS_LEAVE:
		vectors_set();
		return maple_xcall(target, Rogue_run_METHOD, ROGUE_H_VECTORS, 0, 0, 0);
	case ROGUE_H_VECTORS_CALLBACK: {
		if (a2 != ROGUE_H_VECTORS_SET && a2 != ROGUE_H_VECTORS_SET_FAIL)
			return -MAPLE_EINVAL;
		long r = maple_xcall(target, Rogue_run_METHOD, (long)a2, 0, 0, 0);
		return r && r != -MAPLE_ECALLEE ? r : vectors_or();
	}
	case ROGUE_H_VECTORS_SET_FAIL:
		vectors_set();
		__asm__ volatile("ud2");
		return ROGUE_NOT_CONTAINED;
	case ROGUE_H_VECTORS_SET:
		vectors_set();
		return 0;
	case ROGUE_H_LOG_SECRET:
		return log_secret();
	case ROGUE_H_SCAN:
		return target ? rogue_scan((const volatile uint8_t *)target, a2) : -MAPLE_EINVAL;
	case ROGUE_H_FS_SYSCALL:
		load_fs();
		return syscall0(SYS_NULL);
	case ROGUE_H_GS_XCALL:
		rogue_load_gs();
		return maple_xcall(target, Rogue_run_METHOD, ROGUE_H_VECTORS, 0, 0, 0);
	case ROGUE_H_CALL:
		return maple_xcall(target, Rogue_run_METHOD, (long)a2, (long)a3, 0, 0);
	case ROGUE_H_COMPAT:
		return compat_jump();
	case ROGUE_H_AC_LOG: {
		static const char line[] = "attack4: a line logged with RFLAGS.AC set";
		set_ac();
		return syscall2(SYS_LOG, (long)line, sizeof line - 1);
	}
	case ROGUE_H_AC_RETURN:
		set_ac();
		return 0;
	case ROGUE_H_UD2_ON_STACK:
		__asm__ volatile("movq %0, %%rsp\n\tud2"
				 :
				 : "r"(target ? target : MAPLE_TRUSTED_VA)
				 : "memory");
		return ROGUE_NOT_CONTAINED;
	case ROGUE_H_SYSENTER:
		if (!target)
			return -MAPLE_EINVAL;
		/* Linux's SYSENTER convention: the caller's stack in %ebp. */
		__asm__ volatile("pushq %%rbp\n\t"
				 "movq %0, %%rbp\n\t"
				 "sysenter\n\t"
				 "popq %%rbp"
				 :
				 : "r"(target), "a"(20)
				 : "rcx", "r11", "memory");
		return ROGUE_NOT_CONTAINED;
	case ROGUE_H_JUMP_PKRU:
		return target ? rogue_call_with_pkru(target, (uint32_t)a2) : -MAPLE_EINVAL;
	default:
		return -MAPLE_EINVAL;
	}
}
