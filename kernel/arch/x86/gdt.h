/*
 * Each CPU's descriptor tables: its GDT (selectors fixed in layout.h), its
 * 64-bit TSS with the interrupt stacks, and the per-CPU trap state. A CPU's
 * struct cpu points at its struct cpu_tables through `arch`.
 */
#ifndef ARCH_PC_GDT_H
#define ARCH_PC_GDT_H

#include <arch/x86/percpu.h>
#include <arch/x86/traps.h>
#include <stddef.h>
#include <stdint.h>

/* Interrupt stack table slots (Intel SDM Vol. 3A 6.14.5), numbered from 1 as gates name them. */
#define IST_DF	       1 /* double fault: the kernel stack may be the problem */
#define IST_NMI	       2 /* NMI can arrive anywhere, even on a half-switched stack */
#define IST_MC	       3 /* machine check: same */
#define IST_USED       3
#define IST_STACK_SIZE 16384

#define GDT_ENTRIES 7 /* null, kcode, kdata, udata, ucode, TSS (two slots) */

/* 64-bit TSS (Intel SDM Vol. 3A 7.7, Figure 7-11); packed: rsp0 sits at offset 4. */
struct tss {
	uint32_t reserved0;
	uint64_t rsp[3]; /* stack for a switch to CPL 0..2 */
	uint64_t reserved1;
	uint64_t ist[7]; /* ist[0] is IST1 */
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base; /* beyond the limit: no I/O permission bitmap */
} __attribute__((packed));
_Static_assert(offsetof(struct tss, rsp) == 4, "tss.rsp0");
_Static_assert(offsetof(struct tss, reserved1) == 28, "tss.reserved1");
_Static_assert(offsetof(struct tss, ist) == 36, "tss.ist1");
_Static_assert(offsetof(struct tss, reserved2) == 92, "tss.reserved2");
_Static_assert(offsetof(struct tss, reserved3) == 100, "tss.reserved3");
_Static_assert(offsetof(struct tss, iomap_base) == 102, "tss.iomap_base");
_Static_assert(sizeof(struct tss) == 104, "tss size");

struct cpu_tables {
	uint64_t gdt[GDT_ENTRIES];
	/* Aligned so that it cannot straddle a page (SDM 7.2.1). */
	struct tss tss __attribute__((aligned(128)));
	uint32_t cpu_id;
	bool in_fatal_report;		 /* a fault while reporting one stops the CPU */
	uint64_t trap_counts[T_VECTORS]; /* per vector, for trap_count */
};

/*
 * Load this CPU's GDT (reloading CS, DS, ES, SS), TSS and the IDT, and enable
 * its CPU features (cpu_features.c). c must be this CPU's struct cpu (GS set
 * by percpu_init). The boot CPU calls it early in kmain, each AP during
 * bring-up; it must run while the boot identity map is still present,
 * because until then the boot GDT the CPU uses sits at a physical address.
 */
void cpu_tables_init(struct cpu *c);

/* The stack the CPU switches to on an interrupt or exception from ring 3. */
void tss_set_rsp0(uint64_t rsp);

#endif
