/*
 * Bringing up the application processors the MADT lists, and stopping them.
 *
 * The boot CPU copies the trampoline to a usable page below 640 KiB,
 * identity-maps it, sends INIT to every AP at once, waits the INIT delay
 * once, then starts the APs one at a time with SIPI (and a second SIPI if
 * the first was not taken up), each with its own guarded kernel stack.
 * One at a time, because they share the trampoline's parameter block; an
 * AP releases it as soon as it runs on the kernel's own tables.
 */
#include <arch/x86/cpu.h>
#include <arch/x86/gdt.h>
#include <arch/x86/lapic.h>
#include <arch/x86/percpu.h>
#include <arch/x86/trampoline.h>
#include <arch/x86/traps.h>
#include <arch/x86/usermode.h>
#include <core/boot.h>
#include <core/log.h>
#include <core/sched.h>
#include <core/smp.h>
#include <core/time.h>
#include <lib/string.h>
#include <mm/frame.h>
#include <mm/kstack.h>
#include <mm/vm.h>
#include <platform/pc/acpi.h>

/* The start-up IPI's vector is a page number below 1 MiB, and A0000-BFFFF
 * is video memory (SDM Vol. 3A 10.6.1): conventional memory only. */
#define TRAMP_MIN	0x1000 /* page 0 holds the real-mode IVT and BIOS data */
#define TRAMP_MAX	0xa0000
#define TRAMP_CR3_LIMIT 0x100000000ULL

/* MP Spec B.4.1 and B.4.2; SDM Vol. 3A 8.4.4.1 uses the same delays. */
#define INIT_DELAY_US 10000
#define SIPI_DELAY_US 200
/* How long an AP may take from its SIPI to running C code, and then to
 * coming online; generous, because under TCG a vCPU thread starts slowly. */
#define AP_START_TIMEOUT_NS  1000000000ULL
#define AP_ONLINE_TIMEOUT_NS 2000000000ULL

struct ap_start {
	uint32_t id;
	uint32_t apic_id;
};

/* The AP being started: written by the boot CPU before its SIPI. */
static struct ap_start ap_booting;
static volatile bool ap_alive;
static volatile bool stopping;

static uint64_t trampoline_page(void)
{
	for (uint32_t i = 0; i < boot_info.mem_count; i++) {
		const struct bootinfo_mem *m = &boot_info.mem[i];
		if (m->type != BOOTINFO_MEM_USABLE)
			continue;
		uint64_t lo = m->base < TRAMP_MIN ? TRAMP_MIN : m->base;
		lo = (lo + FRAME_SIZE - 1) & ~(FRAME_SIZE - 1);
		uint64_t end = m->base + m->length;
		if (end > TRAMP_MAX)
			end = TRAMP_MAX;
		if (lo + FRAME_SIZE <= end)
			return lo;
	}
	return 0;
}

static __attribute__((noreturn)) void ap_main(void)
{
	struct ap_start me = ap_booting;
	percpu_init(me.id, me.apic_id);
	/* Off the trampoline's GDT, then a CR3 reload that also drops the
	 * trampoline page from this CPU's TLB; after that the page may go. */
	cpu_tables_init(this_cpu());
	paging_load();
	__atomic_store_n(&ap_alive, true, __ATOMIC_RELEASE);
	lapic_init();
	usermode_init_cpu();
	lapic_timer_start();
	if (__atomic_load_n(&stopping, __ATOMIC_ACQUIRE))
		cpu_stop();
	this_cpu()->online = true;
	__atomic_add_fetch(&ncpus_online, 1, __ATOMIC_ACQ_REL);
	sched_ap_entry();
}

/* Wait up to timeout_ns for *flag; true if it was set. */
static bool wait_flag(volatile bool *flag, uint64_t timeout_ns)
{
	uint64_t deadline = time_ns() + timeout_ns;
	while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE)) {
		if (time_ns() >= deadline)
			return false;
		cpu_relax();
	}
	return true;
}

/* SIPI, and a second one if the first was not taken up (MP Spec B.4.2). */
static bool start_ap(uint32_t id, uint32_t apic_id, uint64_t tramp)
{
	struct kstack stack;
	if (kstack_alloc(&stack) < 0) {
		klog("smp: cpu %u (APIC %u): no memory for its stack", id, apic_id);
		return false;
	}
	struct tramp_params *p =
		phys_to_virt(tramp + (uint64_t)(smp_trampoline_params - smp_trampoline_start));
	p->cr3 = paging_root_phys();
	p->stack_top = stack.top;
	p->entry = (uint64_t)ap_main;
	ap_booting = (struct ap_start){.id = id, .apic_id = apic_id};
	__atomic_store_n(&ap_alive, false, __ATOMIC_RELEASE);

	uint8_t page = (uint8_t)(tramp / FRAME_SIZE);
	bool sent = lapic_send_sipi(apic_id, page);
	if (sent && !wait_flag(&ap_alive, SIPI_DELAY_US * 1000ULL))
		sent = lapic_send_sipi(apic_id, page);
	if (sent && wait_flag(&ap_alive, AP_START_TIMEOUT_NS))
		return true;
	/* Park it in wait-for-SIPI, so it cannot wake later on a reused stack. */
	lapic_send_init(apic_id);
	klog("smp: cpu %u (APIC %u) %s", id, apic_id,
	     sent ? "did not start" : "did not accept the start-up IPI");
	return false;
}

/* Which MADT CPUs become which cpu ids: the boot CPU is 0, APs follow in MADT order. */
static uint32_t ap_list(uint32_t *apic_ids)
{
	uint32_t n = 0, self = lapic_id();
	for (uint32_t i = 0; i < acpi_info.ncpus && n + 1 < MAX_CPUS; i++)
		if (acpi_info.cpus[i].apic_id != self)
			apic_ids[n++] = acpi_info.cpus[i].apic_id;
	return n;
}

/* Ready the trampoline page; returns its physical address, or 0 (logged). */
static uint64_t trampoline_setup(void)
{
	uint64_t size = (uint64_t)(smp_trampoline_end - smp_trampoline_start);
	uint64_t tramp = trampoline_page();
	if (!tramp || size > FRAME_SIZE) {
		klog("smp: no usable page below %#x for the AP trampoline", TRAMP_MAX);
		return 0;
	}
	if (paging_root_phys() >= TRAMP_CR3_LIMIT) {
		klog("smp: kernel page table at %#lx is above 4 GiB, out of 32-bit reach",
		     paging_root_phys());
		return 0;
	}
	memcpy(phys_to_virt(tramp), smp_trampoline_start, size);
	/* Executable, read-only: the APs fetch from it with paging already on. */
	if (vm_map_page(tramp, tramp, 0) < 0) {
		klog("smp: cannot identity-map the trampoline page %#lx", tramp);
		return 0;
	}
	return tramp;
}

unsigned smp_init(void)
{
	struct cpu *bsp = this_cpu();
	bsp->apic_id = lapic_id();
	if (!bsp->online) {
		bsp->online = true;
		__atomic_add_fetch(&ncpus_online, 1, __ATOMIC_ACQ_REL);
	}
	uint32_t apic_ids[MAX_CPUS];
	uint32_t naps = ap_list(apic_ids);
	uint64_t tramp = naps ? trampoline_setup() : 0;
	if (tramp) {
		uint64_t t0 = time_ns();
		/* INIT puts each AP in wait-for-SIPI (SDM Vol. 3A 8.4.4.1). */
		for (uint32_t i = 0; i < naps; i++)
			if (!lapic_send_init(apic_ids[i]))
				klog("smp: APIC %u did not accept INIT", apic_ids[i]);
		time_delay_us(INIT_DELAY_US);
		uint32_t started = 0;
		for (uint32_t i = 0; i < naps; i++)
			started += start_ap(1 + i, apic_ids[i], tramp);
		vm_unmap_page(tramp);
		uint64_t deadline = time_ns() + AP_ONLINE_TIMEOUT_NS;
		while (__atomic_load_n(&ncpus_online, __ATOMIC_ACQUIRE) < 1 + started &&
		       time_ns() < deadline)
			cpu_relax();
		klog("smp: %u of %u APs started in %lu us", started, naps, (time_ns() - t0) / 1000);
	}
	unsigned online = __atomic_load_n(&ncpus_online, __ATOMIC_ACQUIRE);
	klog("smp: %u CPUs online", online);
	return online;
}

void smp_stop_others(void)
{
	__atomic_store_n(&stopping, true, __ATOMIC_RELEASE);
	trap_nmi_set_stop();
	if (!lapic_ready())
		return; /* before lapic_init no AP has been started */
	uint32_t self = this_cpu()->id;
	for (uint32_t i = 0; i < MAX_CPUS; i++)
		if (i != self && __atomic_load_n(&cpus[i].online, __ATOMIC_ACQUIRE))
			lapic_send_nmi(cpus[i].apic_id);
}
