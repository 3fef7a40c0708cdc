/* Keeping every CPU's TLB honest after a mapping is taken away. */
#ifndef CORE_TLB_H
#define CORE_TLB_H

/* Flush non-global translations on every online CPU and wait until all
 * have done it. May block briefly; call with interrupts enabled and no
 * spinlock held. */
void tlb_flush_all_cpus(void);
/* Install the IPI handler (boot CPU, before smp_init). */
void tlb_init(void);

#endif
