/*
 * I/O APICs: where device interrupt lines (global system interrupts, GSIs)
 * become vectors on a chosen CPU. ioapic_init also retires the legacy 8259
 * PICs, so every device interrupt comes through here.
 */
#ifndef ARCH_PC_IOAPIC_H
#define ARCH_PC_IOAPIC_H

#include <stdint.h>

/* Map each IOAPIC the MADT lists and mask every pin; remap and mask the 8259s. */
void ioapic_init(void);

/*
 * Deliver ISA IRQ isa_irq (0-15) as `vector` to the CPU with APIC ID
 * dest_apic_id, honouring the MADT's interrupt source overrides (GSI,
 * polarity, trigger), and unmask it. Install the vector's handler first.
 * Returns the GSI it arrives on, or -1 (logged) if it cannot be routed.
 */
int ioapic_route_isa_irq(unsigned isa_irq, uint8_t vector, uint32_t dest_apic_id);

/* Mask a routed GSI; unknown GSIs are ignored. */
void ioapic_mask(uint32_t gsi);

#endif
