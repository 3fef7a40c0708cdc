/* Per-CPU data blocks and their installation in GS. */
#include <arch/x86/cpu.h>
#include <arch/x86/percpu.h>

struct cpu cpus[MAX_CPUS];
uint32_t ncpus_online;

void percpu_init(uint32_t id, uint32_t apic_id)
{
	struct cpu *c = &cpus[id];
	c->self = c;
	c->id = id;
	c->apic_id = apic_id;
	wrmsr(MSR_GS_BASE, (uint64_t)c);
	wrmsr(MSR_KERNEL_GS_BASE, 0);
}
