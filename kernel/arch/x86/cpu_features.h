/* CPU features the kernel relies on or reports: detected and enabled on each CPU. */
#ifndef ARCH_PC_CPU_FEATURES_H
#define ARCH_PC_CPU_FEATURES_H

#include <arch/x86/percpu.h>
#include <stdbool.h>

/*
 * Detect this CPU's features and enable the ones the kernel uses: CR4.SMEP,
 * and CR4.PKE with PKRU = 0 when PKU is present. Checks NX. The boot CPU logs
 * what it found; an AP that lacks something the boot CPU has is fatal.
 * Called by cpu_tables_init.
 */
void cpu_features_init(struct cpu *c);

/* Protection keys for user pages (CPUID.(7,0):ECX.PKU): isolation domains need it. */
bool cpu_has_pku(void);
/* User-mode instruction prevention (CPUID.(7,0):ECX.UMIP): enabled when present. */
bool cpu_has_umip(void);
/* x2APIC mode (CPUID.1:ECX.x2APIC). */
bool cpu_has_x2apic(void);

#endif
