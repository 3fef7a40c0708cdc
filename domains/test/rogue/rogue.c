/*
 * rogue: a domain that misbehaves on request, so the isolation tests can
 * check that each kind of misbehaviour is contained (cases.h). Every
 * pointer and divisor that must not be known at compile time comes from a
 * volatile, so the compiler emits the access rather than a trap of its own.
 */
#include <test/rogue/attack3_cases.h>
#include <test/rogue/attack4_cases.h>
#include <test/rogue/attack5_cases.h>
#include <test/rogue/attack_cases.h>
#include <test/rogue/auth.h>
#include <test/rogue/blocks_cases.h>
#include <test/rogue/cases.h>
#include <test/rogue/escape_cases.h>
#include <test/rogue/flags_cases.h>
#include <test/rogue/frames_cases.h>
#include <test/rogue/gadget_cases.h>
#include <test/rogue/gate_cases.h>
#include <test/rogue/image_cases.h>
#include <test/rogue/pci_cases.h>
#include <test/rogue/threads_cases.h>
#include <test/rogue/tiles_cases.h>
#include <test/rogue/watch_cases.h>
#include <test/rogue/watchsig_cases.h>
#include <test/rogue/wide_cases.h>

#include <sdk/dom.h>

static const char *const case_names[ROGUE_CASES] = {
	[ROGUE_READ_KERNEL] = "read kernel",
	[ROGUE_WRITE_KERNEL] = "write kernel",
	[ROGUE_READ_DOMAIN] = "read domain",
	[ROGUE_WRITE_DOMAIN] = "write domain",
	[ROGUE_WRITE_TRUSTED] = "write trusted",
	[ROGUE_JUMP_GATE] = "jump into gate",
	[ROGUE_NULL_DEREF] = "null dereference",
	[ROGUE_DIV_ZERO] = "divide by zero",
	[ROGUE_UD2] = "ud2",
	[ROGUE_RECURSE] = "unbounded recursion",
	[ROGUE_SPIN] = "spin",
	[ROGUE_LOG_KERNEL] = "log kernel memory",
	[ROGUE_LOG_DOMAIN] = "log domain memory",
	[ROGUE_READ_TRUSTED] = "read trusted",
	[ROGUE_VECTOR] = "vector instruction",
	[ROGUE_SGDT] = "sgdt",
	[ROGUE_RAW_SYSCALL] = "raw linux syscall",
	[ROGUE_INT80] = "int 0x80",
};

static volatile uint64_t sink;
static volatile long zero;
static volatile uint64_t null_address;
static volatile long never = -1; /* a recursion depth that is never reached */

static long read_at(uint64_t addr)
{
	sink = *(volatile uint64_t *)addr;
	return ROGUE_NOT_CONTAINED;
}

static long write_at(uint64_t addr)
{
	*(volatile uint64_t *)addr = ROGUE_SCRIBBLE;
	return ROGUE_NOT_CONTAINED;
}

/* A call, not a jump: should the gate code return, run() reports it. */
static long call_with_zero_pkru_operands(uint64_t addr)
{
	__asm__ volatile("xorl %%eax, %%eax\n\t"
			 "xorl %%ecx, %%ecx\n\t"
			 "xorl %%edx, %%edx\n\t"
			 "call *%0"
			 :
			 : "r"(addr)
			 : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory",
			   "cc");
	return ROGUE_NOT_CONTAINED;
}

/* The frame is used after the call, so there is neither tail call nor
 * elided frame; `never` keeps the recursion formally finite. */
__attribute__((noinline)) static long recurse(long depth)
{
	volatile char frame[256];
	frame[0] = (char)depth;
	if (depth == never)
		return 0;
	return recurse(depth + 1) + frame[0];
}

static long run_case(long number, uint64_t target)
{
	uint64_t kernel = target ? target : ROGUE_KERNEL_VA;
	uint64_t trusted = target ? target : MAPLE_TRUSTED_VA;

	switch (number) {
	case ROGUE_READ_KERNEL:
		return read_at(kernel);
	case ROGUE_WRITE_KERNEL:
		return write_at(kernel);
	case ROGUE_READ_DOMAIN:
		return target ? read_at(target) : -MAPLE_EINVAL;
	case ROGUE_WRITE_DOMAIN:
		return target ? write_at(target) : -MAPLE_EINVAL;
	case ROGUE_WRITE_TRUSTED:
		return write_at(trusted);
	case ROGUE_READ_TRUSTED:
		return read_at(trusted);
	case ROGUE_JUMP_GATE:
		return target ? call_with_zero_pkru_operands(target) : -MAPLE_EINVAL;
	case ROGUE_NULL_DEREF:
		return read_at(null_address);
	case ROGUE_DIV_ZERO:
		sink = 1000 / zero;
		return ROGUE_NOT_CONTAINED;
	case ROGUE_UD2:
		__asm__ volatile("ud2");
		return ROGUE_NOT_CONTAINED;
	case ROGUE_RECURSE:
		sink = recurse(0);
		return ROGUE_NOT_CONTAINED;
	case ROGUE_SPIN:
		for (;;)
			__asm__ volatile("pause");
	case ROGUE_VECTOR:
		/* Would carry data to the next thread's domain in %xmm0 if the
		 * kernel left vector state enabled (it saves none on a switch). */
		__asm__ volatile("pxor %%xmm0, %%xmm0" ::: "memory");
		return ROGUE_NOT_CONTAINED;
	case ROGUE_SGDT: {
		struct __attribute__((packed)) {
			uint16_t limit;
			uint64_t base;
		} gdtr;
		__asm__ volatile("sgdt %0" : "=m"(gdtr));
		return (long)gdtr.base; /* the kernel's address: a leak */
	}
	case ROGUE_RAW_SYSCALL: {
		long r;
		__asm__ volatile("syscall"
				 : "=a"(r)
				 : "a"(ROGUE_LINUX_EXIT_GROUP), "D"(ROGUE_EXIT_CODE)
				 : "rcx", "r11", "memory");
		return r;
	}
	case ROGUE_INT80:
		__asm__ volatile("int $0x80" : : "a"(1), "b"(ROGUE_EXIT_CODE) : "memory");
		return ROGUE_NOT_CONTAINED;
	case ROGUE_LOG_KERNEL:
		return maple_log((const char *)kernel, 16);
	case ROGUE_LOG_DOMAIN:
		return target ? maple_log((const char *)target, 16) : -MAPLE_EINVAL;
	}
	return -MAPLE_EINVAL;
}

long rogue_gate_case(long number, uint64_t target, uint64_t a2, uint64_t a3); /* gate.c */

static long run(long number, long target, long a2, long a3)
{
	if ((number >= ROGUE_GATE_JUMP_STACK && number <= ROGUE_GATE_LAST) ||
	    number == ROGUE_GATE_COUNT)
		return rogue_gate_case(number, (uint64_t)target, (uint64_t)a2, (uint64_t)a3);
	if (number >= ROGUE_A_FIRST && number < ROGUE_A_END)
		return rogue_attack_case(number, (unsigned long)target, (unsigned long)a2);
	if ((number >= ROGUE_W_FIRST && number < ROGUE_W_END) ||
	    (number >= ROGUE_WS_FIRST && number < ROGUE_WS_END))
		return rogue_watch_case(number, (unsigned long)target);
	if (number >= ROGUE_X_FIRST && number < ROGUE_X_END)
		return rogue_attack3_case(number, (unsigned long)target, (unsigned long)a2,
					  (unsigned long)a3);
	if (number >= ROGUE_E_FIRST && number < ROGUE_E_END)
		return rogue_escape_case(number, (uint64_t)target, (uint64_t)a2, (uint64_t)a3);
	if ((number >= ROGUE_G_FIRST && number < ROGUE_G_END) ||
	    (number >= ROGUE_A5_FIRST && number < ROGUE_A5_END))
		return rogue_gadget_case(number, (uint64_t)target, (uint64_t)a2, (uint64_t)a3);
	if (number >= ROGUE_H_FIRST && number < ROGUE_H_END)
		return rogue_attack4_case(number, (unsigned long)target, (unsigned long)a2,
					  (unsigned long)a3);
	if (number >= ROGUE_F_FIRST && number < ROGUE_F_END)
		return rogue_frames_case(number, (unsigned long)target, (unsigned long)a2,
					 (unsigned long)a3);
	if (number >= ROGUE_TH_FIRST && number < ROGUE_TH_END)
		return rogue_threads_case(number, (unsigned long)target, (unsigned long)a2,
					  (unsigned long)a3);
	if (number >= ROGUE_T_FIRST && number < ROGUE_T_END)
		return rogue_tiles_case(number, (unsigned long)target);
	if (number >= ROGUE_Z_FIRST && number < ROGUE_Z_END)
		return rogue_wide_case(number, (unsigned long)target, (unsigned long)a2,
				       (unsigned long)a3);
	if ((number >= ROGUE_B_FIRST && number < ROGUE_B_END) ||
	    (number >= ROGUE_B_SHARED_FIRST && number < ROGUE_B_SHARED_END) ||
	    (number >= ROGUE_B_HOARD_FIRST && number < ROGUE_B_HOARD_END) ||
	    (number >= ROGUE_B_OWN_FIRST && number < ROGUE_B_OWN_END))
		return rogue_blocks_case(number, (unsigned long)target, (unsigned long)a2);
	if (number >= ROGUE_FL_FIRST && number < ROGUE_FL_END)
		return rogue_flags_case(number, (unsigned long)target);
	if (number >= ROGUE_I_FIRST && number < ROGUE_I_END)
		return rogue_image_case(number, (unsigned long)target);
	if (number >= ROGUE_PCI_FIRST && number < ROGUE_PCI_END)
		return rogue_pci_case(number, (unsigned long)target);
	if (number >= ROGUE_AUTH_FIRST && number < ROGUE_AUTH_END) {
		dom_printf("rogue: authority case %ld, target 0x%lx", number,
			   (unsigned long)target);
		return rogue_auth_run(number, (uint64_t)target);
	}
	if (number < 0 || number >= ROGUE_CASES)
		return -MAPLE_EINVAL;
	dom_printf("rogue: case %ld (%s), target 0x%lx", number, case_names[number],
		   (unsigned long)target);
	return run_case(number, (uint64_t)target);
}

long domain_main(long arg)
{
	(void)arg;
	const uint64_t methods[] = {[Rogue_run_METHOD] = MAPLE_METHOD(run)};
	/* Indexed by the numbers idlc generated: a method missing here fails the build. */
	_Static_assert(DOM_ARRAY_LEN(methods) == Rogue_METHODS, "Rogue: every method exported");
	return maple_export(methods, DOM_ARRAY_LEN(methods));
}
