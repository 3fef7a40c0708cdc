/* Bringing up the other CPUs and stopping them. */
#ifndef CORE_SMP_H
#define CORE_SMP_H

/* Start every application processor listed in the MADT; returns CPUs online. */
unsigned smp_init(void);
/* Stop all other CPUs (panic, shutdown); safe before smp_init. */
void smp_stop_others(void);

#endif
