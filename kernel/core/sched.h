/*
 * Kernel threads and the preemptive scheduler: one global run queue shared
 * by all CPUs, round-robin, preempted by each CPU's LAPIC timer tick.
 */
#ifndef CORE_SCHED_H
#define CORE_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#define THREAD_NAME_MAX 24
#define SCHED_HZ        100 /* timer ticks per second on each CPU */

struct thread;

/* Create a runnable kernel thread; returns NULL when memory runs out. */
struct thread *thread_create(const char *name, void (*fn)(void *), void *arg);
__attribute__((noreturn)) void thread_exit(void);
void thread_yield(void);
void thread_sleep_ns(uint64_t ns);
struct thread *thread_current(void);
const char *thread_name(const struct thread *t);

/* Called from each CPU's timer interrupt, interrupts off. */
void sched_tick(void);
/* Boot CPU: set up the run queue and make kmain's context a thread. */
void sched_init(void);
/* Application processor: become this CPU's idle thread and schedule; never returns. */
__attribute__((noreturn)) void sched_ap_entry(void);

#endif
