/*
 * Local APIC driver (Intel SDM Vol. 3A ch. 10). One accessor pair reaches
 * the registers either way: xAPIC registers sit at 16-byte strides in an
 * uncached MMIO page, x2APIC register r is MSR 0x800 + r/16 (10.12.1.2).
 * The interrupt command register differs (two 32-bit halves with a busy
 * bit, or one 64-bit MSR), so IPIs go through icr_send.
 */
#include <arch/x86/cpu.h>
#include <arch/x86/cpu_features.h>
#include <arch/x86/lapic.h>
#include <arch/x86/percpu.h>
#include <arch/x86/traps.h>
#include <core/log.h>
#include <core/panic.h>
#include <core/sched.h>
#include <core/time.h>
#include <mm/vm.h>
#include <platform/pc/acpi.h>

/* Register offsets in the xAPIC page (SDM Vol. 3A 10.4.1, Table 10-1). */
#define LAPIC_ID	  0x020
#define LAPIC_VERSION	  0x030
#define LAPIC_TPR	  0x080
#define LAPIC_EOI	  0x0b0
#define LAPIC_SVR	  0x0f0
#define LAPIC_ESR	  0x280
#define LAPIC_ICR_LOW	  0x300
#define LAPIC_ICR_HIGH	  0x310
#define LAPIC_LVT_TIMER	  0x320
#define LAPIC_LVT_THERMAL 0x330
#define LAPIC_LVT_PERF	  0x340
#define LAPIC_LVT_LINT0	  0x350
#define LAPIC_LVT_LINT1	  0x360
#define LAPIC_LVT_ERROR	  0x370
#define LAPIC_TIMER_INIT  0x380
#define LAPIC_TIMER_CUR	  0x390
#define LAPIC_TIMER_DIV	  0x3e0
#define LAPIC_MMIO_SIZE	  0x1000

/* x2APIC MSRs (10.12.1.2, Table 10-6): the ICR is one 64-bit register. */
#define X2APIC_MSR_BASE 0x800
#define X2APIC_MSR_ICR	0x830

/* IA32_APIC_BASE (10.4.4, Figure 10-5; EXTD: 10.12.1, Figure 10-26). */
#define APIC_BASE_EXTD	    (1ULL << 10)
#define APIC_BASE_EN	    (1ULL << 11)
#define APIC_BASE_ADDR_MASK 0x000ffffffffff000ULL

#define XAPIC_ID_SHIFT 24 /* xAPIC ID register: ID in bits 31:24 (10.4.6) */

/* Version register (10.4.8, Figure 10-7): number of LVT entries minus one. */
#define VERSION_MAX_LVT_SHIFT 16
#define VERSION_MAX_LVT_MASK  0xffu
#define MAX_LVT_WITH_PERF     4
#define MAX_LVT_WITH_THERMAL  5

#define SVR_ENABLE (1u << 8) /* APIC software enable (10.9, Figure 10-23) */

/* LVT entries (10.5.1, Figure 10-8). */
#define LVT_DM_NMI	   (4u << 8)
#define LVT_POLARITY_LOW   (1u << 13)
#define LVT_MASKED	   (1u << 16)
#define LVT_TIMER_PERIODIC (1u << 17)

#define TIMER_DIV_16 0x3 /* divide configuration (10.5.4, Figure 10-10) */

/* Interrupt command register (10.6.1, Figure 10-12; x2APIC: 10.12.9). */
#define ICR_DM_FIXED	      (0u << 8)
#define ICR_DM_NMI	      (4u << 8)
#define ICR_DM_INIT	      (5u << 8)
#define ICR_DM_STARTUP	      (6u << 8)
#define ICR_PENDING	      (1u << 12) /* delivery status, xAPIC only */
#define ICR_ASSERT	      (1u << 14)
#define ICR_XAPIC_DEST_SHIFT  24 /* in the high half */
#define ICR_X2APIC_DEST_SHIFT 32
#define XAPIC_MAX_ID	      0xffu

#define ICR_TIMEOUT_NS	10000000ULL /* 10 ms for the APIC to accept an IPI */
#define CALIBRATE_US	10000
#define TIMER_COUNT_MAX 0xffffffffu

static bool x2apic;
static volatile uint32_t *mmio;
static bool ready;
static uint8_t timer_vector;
static uint64_t timer_hz;

static uint32_t lapic_read(uint32_t reg)
{
	if (x2apic)
		return (uint32_t)rdmsr(X2APIC_MSR_BASE + reg / 16);
	return mmio[reg / 4];
}

static void lapic_write(uint32_t reg, uint32_t v)
{
	if (x2apic)
		wrmsr(X2APIC_MSR_BASE + reg / 16, v);
	else
		mmio[reg / 4] = v;
}

bool lapic_ready(void)
{
	return __atomic_load_n(&ready, __ATOMIC_ACQUIRE);
}

uint32_t lapic_id(void)
{
	uint32_t id = lapic_read(LAPIC_ID);
	return x2apic ? id : id >> XAPIC_ID_SHIFT;
}

void lapic_eoi(void)
{
	if (lapic_ready())
		lapic_write(LAPIC_EOI, 0); /* 10.8.5: any value; x2APIC requires 0 */
}

/*
 * Hardware-enable the APIC and, in x2APIC mode, switch it over. x2APIC is
 * entered from xAPIC mode only (10.12.5, Figure 10-27), so EN goes first.
 */
static void enable_mode(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);
	if (!(base & APIC_BASE_EN)) {
		base |= APIC_BASE_EN;
		wrmsr(MSR_APIC_BASE, base);
	}
	if (x2apic && !(base & APIC_BASE_EXTD))
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_EXTD);
}

/* A LINT pin: NMI if the MADT wires it so for this CPU or all (ACPI 6.4 5.2.12.7), else masked. */
static uint32_t lint_entry(uint8_t lint, uint32_t apic_id)
{
	uint32_t uid = ACPI_UID_ALL;
	for (uint32_t i = 0; i < acpi_info.ncpus; i++)
		if (acpi_info.cpus[i].apic_id == apic_id)
			uid = acpi_info.cpus[i].uid;
	for (uint32_t i = 0; i < acpi_info.nlapic_nmis; i++) {
		const struct acpi_lapic_nmi *n = &acpi_info.lapic_nmis[i];
		if (n->lint != lint || (n->uid != ACPI_UID_ALL && n->uid != uid))
			continue;
		/* NMI delivery is always edge-triggered (10.5.1), so only polarity matters. */
		bool low = (n->flags & ACPI_INTI_POLARITY_MASK) == ACPI_INTI_POLARITY_LOW;
		return LVT_DM_NMI | (low ? LVT_POLARITY_LOW : 0);
	}
	return LVT_MASKED;
}

/* Put this CPU's APIC in a known state and software-enable it (10.4.3, 10.9). */
static void cpu_setup(void)
{
	enable_mode();
	uint32_t max_lvt =
		(lapic_read(LAPIC_VERSION) >> VERSION_MAX_LVT_SHIFT) & VERSION_MAX_LVT_MASK;
	uint32_t id = lapic_id();
	lapic_write(LAPIC_TPR, 0); /* accept every priority class (10.8.3.1) */
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	if (max_lvt >= MAX_LVT_WITH_PERF)
		lapic_write(LAPIC_LVT_PERF, LVT_MASKED);
	if (max_lvt >= MAX_LVT_WITH_THERMAL)
		lapic_write(LAPIC_LVT_THERMAL, LVT_MASKED);
	/* LINT0 carries the 8259's ExtINT in virtual-wire mode; the IOAPIC replaces it. */
	lapic_write(LAPIC_LVT_LINT0, lint_entry(0, id));
	lapic_write(LAPIC_LVT_LINT1, lint_entry(1, id));
	lapic_write(LAPIC_LVT_ERROR, LVT_MASKED);
	/* The ESR latches on a write; two writes clear it (10.5.3). */
	lapic_write(LAPIC_ESR, 0);
	lapic_write(LAPIC_ESR, 0);
	lapic_write(LAPIC_SVR, SVR_ENABLE | IRQ_VECTOR_SPURIOUS);
}

static void timer_irq(struct trap_frame *tf, void *arg)
{
	(void)tf;
	(void)arg;
	sched_tick();
}

/* Count the timer's input clock (after the divider) against the TSC for CALIBRATE_US. */
static uint64_t timer_calibrate(void)
{
	uint64_t tsc_hz = time_tsc_hz();
	if (!tsc_hz)
		panic("lapic: the TSC must be calibrated before the APIC timer");
	lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_16);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED); /* one-shot, no interrupt */
	uint64_t span = tsc_hz / 1000000 * CALIBRATE_US;
	uint64_t t0 = rdtsc();
	lapic_write(LAPIC_TIMER_INIT, TIMER_COUNT_MAX);
	while (rdtsc() - t0 < span)
		cpu_relax();
	uint32_t left = lapic_read(LAPIC_TIMER_CUR);
	uint64_t t1 = rdtsc();
	lapic_write(LAPIC_TIMER_INIT, 0); /* stop it */
	/* 10 ms of even a 10 GHz timer clock times a 10 GHz TSC stays below 2^64. */
	return (TIMER_COUNT_MAX - left) * tsc_hz / (t1 - t0);
}

static void bsp_setup(void)
{
	x2apic = cpu_has_x2apic();
	if (!x2apic) {
		uint64_t phys = acpi_info.lapic_phys;
		if (!phys)
			phys = rdmsr(MSR_APIC_BASE) & APIC_BASE_ADDR_MASK;
		mmio = mmio_map(phys, LAPIC_MMIO_SIZE);
		if (!mmio)
			panic("lapic: cannot map the xAPIC registers at %#lx", phys);
	}
	int v = irq_alloc_vector();
	if (v < 0)
		panic("lapic: no interrupt vector left for the timer");
	timer_vector = (uint8_t)v;
	irq_set_handler(timer_vector, timer_irq, NULL);
}

void lapic_init(void)
{
	bool bsp = !lapic_ready();
	if (bsp)
		bsp_setup();
	cpu_setup();
	if (!bsp)
		return;
	timer_hz = timer_calibrate();
	if (timer_hz < SCHED_HZ)
		panic("lapic: timer runs at %lu Hz, too slow for %d ticks a second", timer_hz,
		      SCHED_HZ);
	__atomic_store_n(&ready, true, __ATOMIC_RELEASE);
	klog("lapic: %s mode, id %u, timer %lu.%03lu MHz (/16), vector %#x, tick %d Hz",
	     x2apic ? "x2APIC" : "xAPIC", lapic_id(), timer_hz / 1000000, timer_hz / 1000 % 1000,
	     timer_vector, SCHED_HZ);
}

void lapic_timer_start(void)
{
	uint64_t count = timer_hz / SCHED_HZ;
	if (count > TIMER_COUNT_MAX)
		count = TIMER_COUNT_MAX;
	/* Periodic mode reloads the initial count at zero (10.5.4). */
	lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_16);
	lapic_write(LAPIC_LVT_TIMER, LVT_TIMER_PERIODIC | timer_vector);
	lapic_write(LAPIC_TIMER_INIT, (uint32_t)count);
}

/* Issue one ICR command (10.6.1) to a single CPU, physical destination mode. */
static bool icr_send(uint32_t apic_id, uint32_t low)
{
	if (!lapic_ready())
		return false;
	if (x2apic) {
		/* WRMSR to the x2APIC ICR does not order earlier stores (10.12.3). */
		__asm__ volatile("mfence" ::: "memory");
		wrmsr(X2APIC_MSR_ICR, ((uint64_t)apic_id << ICR_X2APIC_DEST_SHIFT) | low);
		return true;
	}
	if (apic_id > XAPIC_MAX_ID)
		return false;
	/* The two halves must not interleave with an IPI sent from an interrupt handler. */
	bool irq_on = irq_enabled();
	irq_disable();
	lapic_write(LAPIC_ICR_HIGH, apic_id << ICR_XAPIC_DEST_SHIFT);
	lapic_write(LAPIC_ICR_LOW, low);
	/* Wait for the APIC to accept it (delivery status back to idle). */
	uint64_t deadline = time_ns() + ICR_TIMEOUT_NS;
	bool sent;
	while (!(sent = !(lapic_read(LAPIC_ICR_LOW) & ICR_PENDING)) && time_ns() < deadline)
		cpu_relax();
	if (irq_on)
		irq_enable();
	return sent;
}

bool lapic_send_ipi(uint32_t apic_id, uint8_t vector)
{
	return icr_send(apic_id, ICR_DM_FIXED | ICR_ASSERT | vector);
}

bool lapic_send_nmi(uint32_t apic_id)
{
	return icr_send(apic_id, ICR_DM_NMI | ICR_ASSERT);
}

bool lapic_send_init(uint32_t apic_id)
{
	/* Edge-triggered assert; Pentium 4 and later need no de-assert (10.6.1). */
	return icr_send(apic_id, ICR_DM_INIT | ICR_ASSERT);
}

bool lapic_send_sipi(uint32_t apic_id, uint8_t page)
{
	return icr_send(apic_id, ICR_DM_STARTUP | ICR_ASSERT | page);
}
