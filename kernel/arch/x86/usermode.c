/*
 * Per-thread ring-3 state on pc: PKRU, the user GS base, the kernel entry
 * stack (TSS.RSP0 and the SYSCALL stack), the SYSCALL MSRs, and copying
 * from domain memory under the exception table.
 */
#include <arch/x86/cpu.h>
#include <arch/x86/cpu_features.h>
#include <arch/x86/gdt.h>
#include <arch/x86/layout.h>
#include <arch/x86/percpu.h>
#include <arch/x86/traps.h>
#include <arch/x86/usermode.h>
#include <core/thread.h>

#define RFLAGS_TF 0x100
#define RFLAGS_DF 0x400
#define RFLAGS_AC 0x40000

void syscall_entry(void);
void upcall_set_entry(uint64_t rsp);

void usermode_init_cpu(void)
{
	/* SDM Vol. 3A 5.8.8: SYSCALL loads CS from STAR[47:32] and SS = that
	 * + 8; SFMASK clears IF (and DF, TF, AC) on entry. Returns use iretq. */
	wrmsr(MSR_STAR, ((uint64_t)GDT_KCODE << 32) | ((uint64_t)(GDT_UDATA - 8) << 48));
	wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
	wrmsr(MSR_SFMASK, RFLAGS_IF | RFLAGS_DF | RFLAGS_TF | RFLAGS_AC);
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
}

void arch_set_pkru(uint32_t pkru)
{
	if (cpu_has_pku())
		__asm__ volatile("wrpkru" : : "a"(pkru), "c"(0), "d"(0) : "memory");
}

uint32_t arch_get_pkru(void)
{
	uint32_t pkru = 0, edx;
	if (cpu_has_pku())
		__asm__ volatile("rdpkru" : "=a"(pkru), "=d"(edx) : "c"(0));
	return pkru;
}

void arch_set_user_gs(uint64_t va)
{
	/* In the kernel, GS is the kernel's; the user base waits in
	 * KERNEL_GS_BASE until swapgs on the way out (SDM Vol. 2B, SWAPGS). */
	wrmsr(MSR_KERNEL_GS_BASE, va);
}

void arch_set_kernel_entry(uint64_t rsp)
{
	this_cpu()->kernel_rsp = rsp;
	tss_set_rsp0(rsp);
}

void upcall_set_entry(uint64_t rsp)
{
	struct thread *t = this_cpu()->current;
	t->kentry = rsp;
	arch_set_kernel_entry(rsp);
}

void arch_thread_switch(struct thread *prev, struct thread *next)
{
	prev->pkru = arch_get_pkru();
	if (next->pkru != prev->pkru)
		arch_set_pkru(next->pkru);
	if (next->user_gs != prev->user_gs)
		arch_set_user_gs(next->user_gs);
	if (next->kentry)
		arch_set_kernel_entry(next->kentry);
}

/* rep movsb under the exception table: either side may be the user's. */
static int user_copy(void *dst, const void *src, uint64_t len)
{
	uint64_t vector;
	__asm__ volatile("movq %[nf], %%rax\n"
			 "1:\trep movsb\n"
			 "2:\n\t" EXTABLE(1b, 2b)
			 : "=&a"(vector), "+D"(dst), "+S"(src), "+c"(len)
			 : [nf] "i"(EXTABLE_NO_FAULT)
			 : "rdx", "memory");
	return vector == EXTABLE_NO_FAULT ? 0 : -1;
}

int copy_from_user(void *dst, uint64_t src, uint64_t len)
{
	return user_copy(dst, (const void *)src, len);
}

int copy_to_user(uint64_t dst, const void *src, uint64_t len)
{
	return user_copy((void *)dst, src, len);
}
