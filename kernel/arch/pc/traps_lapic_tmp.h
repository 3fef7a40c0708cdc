/*
 * TEMPORARY: the LAPIC driver (arch/pc/lapic.h, lapic.c) has not landed yet.
 * idt.c includes this for lapic_eoi and has a weak no-op fallback; when
 * lapic.h exists, idt.c includes it instead and this file goes.
 */
#ifndef ARCH_PC_TRAPS_LAPIC_TMP_H
#define ARCH_PC_TRAPS_LAPIC_TMP_H

void lapic_eoi(void);

#endif
