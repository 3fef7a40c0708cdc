/*
 * Per-CPU data. Each CPU's GS base points at its struct cpu, whose first
 * field points at itself, so `this_cpu()` is one %gs-relative load.
 */
#ifndef ARCH_PC_PERCPU_H
#define ARCH_PC_PERCPU_H

/* Offsets used by traps.S (checked below). */
#define CPU_KERNEL_RSP 8
#define CPU_USER_RSP   16

#ifndef __ASSEMBLY__
#include <stdbool.h>
#include <stdint.h>

#define MAX_CPUS 16

struct thread;

struct cpu {
	struct cpu *self;    /* %gs:0 */
	uint64_t kernel_rsp; /* %gs:8, the stack SYSCALL switches to */
	uint64_t user_rsp;   /* %gs:16, SYSCALL's scratch for the user stack */
	uint32_t id;	     /* dense index 0..ncpus-1 */
	uint32_t apic_id;
	bool online;
	struct thread *current;
	struct thread *idle;
	struct thread *prev;   /* thread switched away from, until finished */
	bool need_resched;     /* set by the tick, acted on at interrupt exit */
	uint64_t switch_in_ns; /* when current started running */
	uint64_t ticks;	       /* timer interrupts taken */
	uint64_t context_switches;
	int panicking;
	void *arch; /* struct cpu_tables: GDT, TSS, IST stacks */
};

_Static_assert(__builtin_offsetof(struct cpu, kernel_rsp) == CPU_KERNEL_RSP, "traps.S");
_Static_assert(__builtin_offsetof(struct cpu, user_rsp) == CPU_USER_RSP, "traps.S");

extern struct cpu cpus[MAX_CPUS];
extern uint32_t ncpus_online;

static inline struct cpu *this_cpu(void)
{
	struct cpu *c;
	__asm__ volatile("movq %%gs:0, %0" : "=r"(c));
	return c;
}

/*
 * The running thread, in one GS-relative load: safe with interrupts on,
 * where `this_cpu()->current` is not (the thread may migrate between
 * reading the CPU pointer and reading through it).
 */
static inline struct thread *this_cpu_current(void)
{
	struct thread *t;
	__asm__ volatile("movq %%gs:%c1, %0"
			 : "=r"(t)
			 : "i"(__builtin_offsetof(struct cpu, current)));
	return t;
}

/* Point GS at cpus[id] (MSR_GS_BASE); first thing each CPU does. */
void percpu_init(uint32_t id, uint32_t apic_id);
#endif

#endif
