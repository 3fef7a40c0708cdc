/*
 * What the ACPI tables say about this machine, parsed once at boot
 * (platform/pc/acpi.c) into plain data: the CPUs and interrupt controllers
 * (MADT), the PCI ECAM windows (MCFG), the fixed power-management hardware
 * (FADT) and the \_S5_ sleep type (DSDT). Nothing here points back into
 * the firmware's tables, so they may be reclaimed after acpi_init.
 */
#ifndef ARCH_PC_ACPI_H
#define ARCH_PC_ACPI_H

#include <arch/x86/percpu.h>
#include <stdbool.h>
#include <stdint.h>

#define ACPI_MAX_IOAPICS   8
#define ACPI_MAX_OVERRIDES 24
#define ACPI_MAX_NMIS	   8
#define ACPI_MAX_ECAM	   4

/* MPS INTI flags of overrides and NMI entries (ACPI 6.4 5.2.12.5). */
#define ACPI_INTI_POLARITY_MASK 0x3
#define ACPI_INTI_POLARITY_BUS	0x0 /* conforms to the bus: ISA is active high */
#define ACPI_INTI_POLARITY_HIGH 0x1
#define ACPI_INTI_POLARITY_LOW	0x3
#define ACPI_INTI_TRIGGER_SHIFT 2
#define ACPI_INTI_TRIGGER_MASK	(0x3 << ACPI_INTI_TRIGGER_SHIFT)
#define ACPI_INTI_TRIGGER_BUS	(0x0 << ACPI_INTI_TRIGGER_SHIFT) /* ISA: edge */
#define ACPI_INTI_TRIGGER_EDGE	(0x1 << ACPI_INTI_TRIGGER_SHIFT)
#define ACPI_INTI_TRIGGER_LEVEL (0x3 << ACPI_INTI_TRIGGER_SHIFT)

/* "All processors" in a Local APIC NMI entry (ACPI 6.4 5.2.12.7 and 5.2.12.13). */
#define ACPI_UID_ALL 0xffffffffu

struct acpi_cpu {
	uint32_t apic_id;
	uint32_t uid; /* ACPI processor UID, which the NMI entries refer to */
};

struct acpi_ioapic {
	uint32_t id;
	uint64_t phys;	   /* register window */
	uint32_t gsi_base; /* first global system interrupt on its pin 0 */
};

/* An ISA IRQ that arrives on another GSI or with other flags than the ISA default. */
struct acpi_override {
	uint8_t isa_irq;
	uint16_t flags; /* ACPI_INTI_* */
	uint32_t gsi;
};

/* A LAPIC LINT pin wired to NMI. */
struct acpi_lapic_nmi {
	uint32_t uid; /* ACPI_UID_ALL for every processor */
	uint16_t flags;
	uint8_t lint; /* 0 or 1 */
};

/* PCI Express enhanced configuration space window (PCI Firmware Spec 3.2, 4.1.2). */
struct acpi_ecam {
	uint64_t base; /* ECAM address of bus 0 of this segment, even if bus_start > 0 */
	uint16_t segment;
	uint8_t bus_start, bus_end;
};

/* A fixed-hardware register, as the FADT's Generic Address Structure gives it. */
struct acpi_reg {
	uint8_t space; /* ACPI_SPACE_* */
	uint8_t bit_width;
	uint64_t addr;
};
#define ACPI_SPACE_MEMORY 0
#define ACPI_SPACE_IO	  1
#define ACPI_SPACE_PCI	  2

struct acpi_info {
	bool present; /* a valid RSDP and root table were found */
	uint8_t revision;
	char oem_id[7];

	/* MADT */
	bool have_madt;
	uint64_t lapic_phys;
	bool pcat_compat; /* 8259 PICs present and need masking */
	uint32_t ncpus;	  /* enabled processors, at most MAX_CPUS; BSP not necessarily first */
	uint32_t ncpus_ignored;
	struct acpi_cpu cpus[MAX_CPUS];
	uint32_t nioapics;
	struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
	uint32_t noverrides;
	struct acpi_override overrides[ACPI_MAX_OVERRIDES];
	uint32_t nlapic_nmis;
	struct acpi_lapic_nmi lapic_nmis[ACPI_MAX_NMIS];
	uint32_t nnmi_sources; /* NMI-wired IOAPIC inputs; counted, they stay masked */

	/* MCFG */
	uint32_t necam;
	struct acpi_ecam ecam[ACPI_MAX_ECAM];

	/* FADT */
	bool have_fadt;
	bool hw_reduced;
	uint16_t sci_irq;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	struct acpi_reg pm1a_cnt, pm1b_cnt; /* space ACPI_SPACE_IO, addr 0 if absent */
	uint32_t pm_timer_port;		    /* 0 if absent */
	bool pm_timer_32bit;
	uint8_t century_cmos; /* CMOS index of the century, 0 if none */
	bool reset_supported;
	struct acpi_reg reset_reg;
	uint8_t reset_value;

	/* DSDT \_S5_ */
	bool have_s5;
	uint8_t slp_typ_a, slp_typ_b;

	/* HPET */
	bool have_hpet;
	uint64_t hpet_phys;
};

extern struct acpi_info acpi_info;

/*
 * Find and parse the tables from boot_info.rsdp. Must run while the tables
 * are mapped: before paging_init, the boot page tables map the low 4 GiB,
 * where firmware puts them. Logs a summary, or why a table was refused;
 * never fails the boot. Returns whether the MADT was found.
 */
bool acpi_init(void);

#endif
