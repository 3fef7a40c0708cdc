/*
 * The local APIC of each CPU: end of interrupt, inter-processor interrupts
 * and the periodic scheduler tick. x2APIC mode (MSRs) when the CPU has it,
 * xAPIC (MMIO) otherwise; the choice is made once and holds on every CPU.
 */
#ifndef ARCH_PC_LAPIC_H
#define ARCH_PC_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Enable this CPU's local APIC: spurious vector IRQ_VECTOR_SPURIOUS, LINT
 * pins as the MADT says, everything else masked. The first call (the boot
 * CPU, after paging_init and acpi_init, with the TSC calibrated) also picks
 * the mode, maps the registers and calibrates the timer.
 */
void lapic_init(void);
/* Whether lapic_init has run on the boot CPU (IPIs and EOIs work). */
bool lapic_ready(void);

/* This CPU's APIC ID (the x2APIC ID in x2APIC mode). */
uint32_t lapic_id(void);
/* Signal end of interrupt; trap_dispatch calls it after each device vector. */
void lapic_eoi(void);

/* Start this CPU's timer: periodic, SCHED_HZ, each tick calls sched_tick(). */
void lapic_timer_start(void);

/*
 * IPIs to one CPU by APIC ID. They return false if the APIC did not accept
 * the command (xAPIC: delivery status stuck at pending), true otherwise;
 * acceptance says nothing about whether the target handled it.
 */
bool lapic_send_ipi(uint32_t apic_id, uint8_t vector);
bool lapic_send_nmi(uint32_t apic_id);
bool lapic_send_init(uint32_t apic_id);
/* Start-up IPI: the target starts in real mode at physical page `page` (< 1 MiB). */
bool lapic_send_sipi(uint32_t apic_id, uint8_t page);

#endif
