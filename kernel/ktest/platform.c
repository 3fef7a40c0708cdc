/*
 * In-guest tests of the pc platform: what ACPI reported, that every enabled
 * CPU came up and takes timer ticks, that IPIs reach their target, that ISA
 * IRQs follow the MADT's overrides (a real PIT interrupt), and that time_ns
 * agrees across CPUs.
 * Waits are bounded by WAIT_LIMIT_NS and never judge speed.
 */
#include <arch/x86/io.h>
#include <arch/x86/lapic.h>
#include <arch/x86/percpu.h>
#include <arch/x86/traps.h>
#include <core/sched.h>
#include <core/time.h>
#include <ktest/ktest.h>
#include <platform/pc/acpi.h>
#include <platform/pc/ioapic.h>

#define WAIT_LIMIT_NS  5000000000ULL /* generous: TCG on a loaded host is slow */
#define TICK_WINDOW_NS 50000000ULL
#define TIME_ROUNDS    20

/* PCI configuration mechanism #1 (PCI Local Bus Specification 3.0, 3.2.2.3.2). */
#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA	   0xcfc
#define PCI_CONFIG_ENABLE  0x80000000u
/* QEMU q35's host bridge, the Intel 82G33 (Q35) DRAM controller, at 00:00.0. */
#define Q35_HOST_BRIDGE_ID 0x29c08086u

/* Vendor and device ID of 00:00.0, the host bridge. */
static uint32_t host_bridge_id(void)
{
	outl(PCI_CONFIG_ADDRESS, PCI_CONFIG_ENABLE); /* bus 0, device 0, function 0, offset 0 */
	return inl(PCI_CONFIG_DATA);
}

static bool machine_is_q35(void)
{
	return host_bridge_id() == Q35_HOST_BRIDGE_ID;
}

KTEST(platform_madt_cpus_and_ioapics)
{
	KT_ASSERT(acpi_info.have_madt);
	KT_ASSERT(acpi_info.ncpus >= 1);
	KT_ASSERT(acpi_info.nioapics >= 1);
	KT_ASSERT(acpi_info.lapic_phys != 0);
}

KTEST(platform_mcfg_on_q35)
{
	if (!machine_is_q35()) {
		ktest_skip(t, "not a q35 machine (host bridge %#x): no ECAM is promised",
			   host_bridge_id());
		return;
	}
	KT_ASSERT(acpi_info.necam >= 1);
	KT_ASSERT(acpi_info.ecam[0].base != 0);
	KT_ASSERT(acpi_info.ecam[0].bus_start <= acpi_info.ecam[0].bus_end);
}

KTEST(platform_power_off_described)
{
	KT_ASSERT(acpi_info.have_fadt);
	KT_ASSERT(acpi_info.have_s5);
	KT_ASSERT(acpi_info.pm1a_cnt.addr != 0);
}

KTEST(platform_every_madt_cpu_online)
{
	uint32_t want = acpi_info.ncpus < MAX_CPUS ? acpi_info.ncpus : MAX_CPUS;
	KT_ASSERT_EQ(__atomic_load_n(&ncpus_online, __ATOMIC_ACQUIRE), want);
	for (uint32_t i = 0; i < want; i++)
		KT_ASSERT(cpus[i].online);
}

KTEST(platform_timer_ticks_on_every_cpu)
{
	uint64_t before[MAX_CPUS];
	for (uint32_t i = 0; i < MAX_CPUS; i++)
		before[i] = __atomic_load_n(&cpus[i].ticks, __ATOMIC_RELAXED);
	thread_sleep_ns(TICK_WINDOW_NS);
	uint64_t deadline = time_ns() + WAIT_LIMIT_NS;
	for (uint32_t i = 0; i < MAX_CPUS; i++) {
		if (!cpus[i].online)
			continue;
		while (__atomic_load_n(&cpus[i].ticks, __ATOMIC_RELAXED) == before[i] &&
		       time_ns() < deadline)
			thread_sleep_ns(1000000);
		if (__atomic_load_n(&cpus[i].ticks, __ATOMIC_RELAXED) == before[i]) {
			ktest_fail(t, __FILE__, __LINE__, "cpu %u took no timer tick", i);
			return;
		}
	}
}

struct ipi_probe {
	uint32_t hits;
	uint32_t cpu;
	uint64_t ns;
};

static void ipi_probe_handler(struct trap_frame *tf, void *arg)
{
	(void)tf;
	struct ipi_probe *p = arg;
	p->cpu = this_cpu()->id;
	p->ns = time_ns();
	__atomic_add_fetch(&p->hits, 1, __ATOMIC_RELEASE);
}

/* An online CPU other than the one running now, or this one if it is alone. */
static uint32_t other_cpu(void)
{
	uint32_t self = this_cpu()->id;
	for (uint32_t i = 0; i < MAX_CPUS; i++)
		if (i != self && cpus[i].online)
			return i;
	return self;
}

/* Online CPUs in turn, the sender's own included. */
static uint32_t nth_online_cpu(uint32_t n)
{
	uint32_t online = __atomic_load_n(&ncpus_online, __ATOMIC_ACQUIRE);
	n %= online ? online : 1;
	for (uint32_t i = 0; i < MAX_CPUS; i++)
		if (cpus[i].online && n-- == 0)
			return i;
	return this_cpu()->id;
}

/* Send `vector` to cpu and wait for the probe's hit count to reach want. */
static bool ipi_and_wait(struct ipi_probe *p, uint8_t vector, uint32_t cpu, uint32_t want)
{
	if (!lapic_send_ipi(cpus[cpu].apic_id, vector))
		return false;
	uint64_t deadline = time_ns() + WAIT_LIMIT_NS;
	while (__atomic_load_n(&p->hits, __ATOMIC_ACQUIRE) < want)
		if (time_ns() > deadline)
			return false;
	return true;
}

KTEST(platform_ipi_runs_handler_on_target)
{
	struct ipi_probe p = {0};
	int v = irq_alloc_vector();
	KT_ASSERT(v >= 0);
	irq_set_handler((uint8_t)v, ipi_probe_handler, &p);
	uint32_t target = other_cpu();
	bool ok = ipi_and_wait(&p, (uint8_t)v, target, 1);
	irq_free_vector((uint8_t)v);
	KT_ASSERT(ok);
	KT_ASSERT_EQ(p.cpu, target);
}

/* A CPU stamps time_ns between two stamps of the sender: the clocks agree. */
KTEST(platform_time_monotonic_across_cpus)
{
	struct ipi_probe p = {0};
	int v = irq_alloc_vector();
	KT_ASSERT(v >= 0);
	irq_set_handler((uint8_t)v, ipi_probe_handler, &p);
	bool ok = true;
	uint64_t before = 0, remote = 0, after = 0;
	for (uint32_t round = 0; ok && round < TIME_ROUNDS; round++) {
		uint32_t target = nth_online_cpu(round);
		before = time_ns();
		ok = ipi_and_wait(&p, (uint8_t)v, target, round + 1);
		remote = __atomic_load_n(&p.ns, __ATOMIC_ACQUIRE);
		after = time_ns();
		ok = ok && before <= remote && remote <= after;
	}
	irq_free_vector((uint8_t)v);
	if (!ok)
		ktest_fail(t, __FILE__, __LINE__, "stamps %lu <= %lu (cpu %u) <= %lu do not hold",
			   before, remote, p.cpu, after);
}

/* PIT channel 0, whose OUT0 is ISA IRQ 0 (8254 datasheet; ports as on every PC). */
#define PIT_CH0_DATA	       0x40
#define PIT_COMMAND	       0x43
#define PIT_CMD_CH0_MODE0_LOHI 0x30 /* channel 0, lobyte/hibyte, mode 0, binary */
#define PIT_ONE_SHOT_COUNT     1193 /* 1 ms at 1.193182 MHz */

struct isa_probe {
	uint32_t hits;
};

static void isa_probe_handler(struct trap_frame *tf, void *arg)
{
	(void)tf;
	__atomic_add_fetch(&((struct isa_probe *)arg)->hits, 1, __ATOMIC_RELEASE);
}

/*
 * Mode 0, "interrupt on terminal count": OUT0 drops when the mode is set and
 * rises once, at zero, which is one edge on ISA IRQ 0. It then stays high,
 * so the PIT is quiet afterwards (firmware may have left it in a periodic mode).
 */
static void pit_one_shot(void)
{
	outb(PIT_COMMAND, PIT_CMD_CH0_MODE0_LOHI);
	outb(PIT_CH0_DATA, PIT_ONE_SHOT_COUNT & 0xff);
	outb(PIT_CH0_DATA, PIT_ONE_SHOT_COUNT >> 8);
}

/*
 * A real interrupt from the PIT arrives through the routing the MADT asks
 * for. On PCs, ISA IRQ 0 is wired to IOAPIC input 2 and the MADT says so
 * with an interrupt source override (ACPI 6.4 5.2.12.5); QEMU's IOAPIC has
 * nothing on input 0. So if ioapic_route_isa_irq ignored the override and
 * programmed GSI 0, the handler would never run.
 */
KTEST(platform_isa_override_honoured)
{
	uint32_t want = 0;
	for (uint32_t i = 0; i < acpi_info.noverrides; i++)
		if (acpi_info.overrides[i].isa_irq == 0)
			want = acpi_info.overrides[i].gsi;
	struct isa_probe p = {0};
	int v = irq_alloc_vector();
	KT_ASSERT(v >= 0);
	irq_set_handler((uint8_t)v, isa_probe_handler, &p);
	int gsi = ioapic_route_isa_irq(0, (uint8_t)v, lapic_id());
	bool arrived = false;
	if (gsi >= 0) {
		pit_one_shot();
		uint64_t deadline = time_ns() + WAIT_LIMIT_NS;
		while (!(arrived = __atomic_load_n(&p.hits, __ATOMIC_ACQUIRE) > 0) &&
		       time_ns() < deadline)
			thread_sleep_ns(1000000);
		ioapic_mask((uint32_t)gsi);
	}
	irq_free_vector((uint8_t)v);
	KT_ASSERT(gsi >= 0);
	if (!arrived) {
		ktest_fail(t, __FILE__, __LINE__,
			   "no interrupt from the PIT on GSI %d (vector %#x) within %llu ms", gsi,
			   v, WAIT_LIMIT_NS / 1000000);
		return;
	}
	KT_ASSERT_EQ(gsi, want);
}
