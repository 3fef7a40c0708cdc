/*
 * Power-off and reboot on pc (platform/pc/power.h). Power-off is ACPI soft-off:
 * the sleep type the DSDT's \_S5_ names (read by acpi_init) written to the
 * PM1 control registers with SLP_EN (ACPI 6.4 16.1.7). Reboot uses the
 * FADT reset register, then the keyboard controller's reset line. Both stop
 * the other CPUs first, and say why and halt if the machine stays up.
 */
#include <arch/x86/cpu.h>
#include <arch/x86/io.h>
#include <core/log.h>
#include <core/smp.h>
#include <core/time.h>
#include <mm/vm.h>
#include <platform/pc/acpi.h>
#include <platform/pc/power.h>

/* PM1 control register (ACPI 6.4 4.8.4.2.1, Table 4.13). */
#define PM1_SCI_EN	  (1u << 0)
#define PM1_SLP_TYP_SHIFT 10
#define PM1_SLP_TYP_MASK  (7u << PM1_SLP_TYP_SHIFT)
#define PM1_SLP_EN	  (1u << 13)

/* 8042 keyboard controller: status/command port, input-buffer-full bit, and
 * the command that pulses output port bit 0, the CPU reset line. */
#define KBC_PORT       0x64
#define KBC_INPUT_FULL 0x02
#define KBC_CMD_RESET  0xfe
#define KBC_WAIT_US    100000

#define ACPI_ENABLE_WAIT_US 1000000
#define TAKE_EFFECT_US	    1000000 /* how long to wait before calling it a failure */

/* The other CPUs are gone, so the log lock no longer needs respecting. */
static void stop_others(void)
{
	irq_disable();
	smp_stop_others();
	log_force_unlock();
}

static __attribute__((noreturn)) void give_up(const char *what, const char *why)
{
	klog("power: %s failed: %s; halting", what, why);
	cpu_stop();
}

/*
 * SCI_EN set means the firmware has handed the fixed hardware to the OS;
 * if not, ask for it by writing ACPI_ENABLE to SMI_CMD (ACPI 6.4 4.8.3.4).
 */
static void acpi_enable_mode(uint16_t pm1a)
{
	if ((inw(pm1a) & PM1_SCI_EN) || !acpi_info.smi_cmd || !acpi_info.acpi_enable)
		return;
	outb((uint16_t)acpi_info.smi_cmd, acpi_info.acpi_enable);
	uint64_t deadline = time_ns() + ACPI_ENABLE_WAIT_US * 1000ULL;
	while (!(inw(pm1a) & PM1_SCI_EN) && time_ns() < deadline)
		cpu_relax();
}

/* SLP_TYP first, then SLP_EN in a second write, as ACPICA does for firmware that wants it. */
static void pm1_sleep(uint16_t port, uint8_t typ)
{
	uint16_t v = (uint16_t)((inw(port) & ~PM1_SLP_TYP_MASK) | (typ << PM1_SLP_TYP_SHIFT));
	outw(port, v);
	outw(port, v | PM1_SLP_EN);
}

void power_off(void)
{
	klog("power: powering off (ACPI S5)");
	stop_others();
	const struct acpi_info *a = &acpi_info;
	if (!a->have_fadt)
		give_up("power-off", "no FADT");
	if (a->hw_reduced)
		give_up("power-off", "hardware-reduced ACPI (sleep registers) is not supported");
	if (!a->have_s5)
		give_up("power-off", "no usable \\_S5_ object in the DSDT");
	if (a->pm1a_cnt.space != ACPI_SPACE_IO || !a->pm1a_cnt.addr ||
	    (a->pm1b_cnt.addr && a->pm1b_cnt.space != ACPI_SPACE_IO))
		give_up("power-off", "PM1 control block missing or not in I/O space");
	uint16_t pm1a = (uint16_t)a->pm1a_cnt.addr, pm1b = (uint16_t)a->pm1b_cnt.addr;
	acpi_enable_mode(pm1a);
	pm1_sleep(pm1a, a->slp_typ_a);
	if (pm1b)
		pm1_sleep(pm1b, a->slp_typ_b);
	time_delay_us(TAKE_EFFECT_US);
	give_up("power-off", "still running a second after SLP_EN");
}

/* The FADT reset register (ACPI 6.4 4.8.4.6): one byte, I/O or memory space. */
static void reset_via_fadt(void)
{
	const struct acpi_reg *r = &acpi_info.reset_reg;
	if (!acpi_info.reset_supported)
		return;
	if (r->space == ACPI_SPACE_IO) {
		outb((uint16_t)r->addr, acpi_info.reset_value);
	} else if (r->space == ACPI_SPACE_MEMORY) {
		volatile uint8_t *reg = mmio_map(r->addr, 1);
		if (reg)
			*reg = acpi_info.reset_value;
	} else {
		klog("power: FADT reset register in address space %u is not supported", r->space);
		return;
	}
	time_delay_us(TAKE_EFFECT_US);
	klog("power: FADT reset register did not reset the machine");
}

static void reset_via_8042(void)
{
	uint64_t deadline = time_ns() + KBC_WAIT_US * 1000ULL;
	while ((inb(KBC_PORT) & KBC_INPUT_FULL) && time_ns() < deadline)
		cpu_relax();
	outb(KBC_PORT, KBC_CMD_RESET);
	time_delay_us(TAKE_EFFECT_US);
}

__attribute__((noreturn)) void power_reboot(void)
{
	klog("power: rebooting");
	stop_others();
	reset_via_fadt();
	reset_via_8042();
	give_up("reboot", "the 8042 reset line did not reset the machine");
}
