/*
 * TLB shootdown. Reloading CR3 drops every non-global translation (Intel
 * SDM Vol. 3A 4.10.4.1); user pages are never global, so that is enough
 * after user mappings go. One shootdown at a time: the initiator sends a
 * fixed IPI to every other online CPU and waits for each to acknowledge.
 * Call with no spinlock held (a CPU spinning with interrupts off could
 * never acknowledge).
 */
#include <arch/x86/cpu.h>
#include <arch/x86/lapic.h>
#include <arch/x86/percpu.h>
#include <arch/x86/tlb.h>
#include <arch/x86/traps.h>
#include <core/panic.h>
#include <core/sched.h>

static uint8_t shootdown_vector;
static uint32_t pending;
static uint32_t busy; /* one shootdown at a time */

static void shootdown_interrupt(struct trap_frame *frame, void *arg)
{
	(void)frame;
	(void)arg;
	write_cr3(read_cr3());
	__atomic_sub_fetch(&pending, 1, __ATOMIC_RELEASE);
}

void tlb_init(void)
{
	int vector = irq_alloc_vector();
	if (vector < 0)
		panic("tlb: no interrupt vector left for shootdowns");
	shootdown_vector = (uint8_t)vector;
	irq_set_handler(shootdown_vector, shootdown_interrupt, NULL);
}

void tlb_flush_all_cpus(void)
{
	/* Wait for a running shootdown with interrupts on, so that this CPU
	 * can still answer it; then work with them off. */
	bool irq = irq_enabled();
	for (;;) {
		irq_disable();
		if (!__atomic_exchange_n(&busy, 1, __ATOMIC_ACQUIRE))
			break;
		irq_enable();
		while (__atomic_load_n(&busy, __ATOMIC_RELAXED))
			cpu_relax();
	}
	struct cpu *me = this_cpu();
	__atomic_store_n(&pending, 0, __ATOMIC_RELAXED);
	for (uint32_t i = 0; i < MAX_CPUS; i++) {
		if (&cpus[i] == me || !cpus[i].online)
			continue;
		__atomic_add_fetch(&pending, 1, __ATOMIC_ACQ_REL);
		if (!lapic_send_ipi(cpus[i].apic_id, shootdown_vector))
			__atomic_sub_fetch(&pending, 1, __ATOMIC_ACQ_REL);
	}
	write_cr3(read_cr3());
	while (__atomic_load_n(&pending, __ATOMIC_ACQUIRE))
		cpu_relax();
	__atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
	if (irq)
		irq_enable();
}
