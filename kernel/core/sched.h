/*
 * Kernel threads and the preemptive scheduler: one global run queue shared
 * by all CPUs, round-robin, preempted by each CPU's LAPIC timer tick.
 */
#ifndef CORE_SCHED_H
#define CORE_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#define THREAD_NAME_MAX 24
#define SCHED_HZ	100 /* timer ticks per second on each CPU */

struct thread;

/* Create a runnable kernel thread; returns NULL when memory runs out. */
struct thread *thread_create(const char *name, void (*fn)(void *), void *arg);
__attribute__((noreturn)) void thread_exit(void);
void thread_yield(void);
void thread_sleep_ns(uint64_t ns);
struct thread *thread_current(void);

/* Threads blocked until a condition holds; woken by waitq_wake_all. */
struct waitq {
	struct thread *head;
};

/*
 * Block until ready(arg) is true. ready runs with the scheduler lock held
 * and interrupts off, so it must only read state (e.g. an atomic); whoever
 * makes it true calls waitq_wake_all afterwards, and no wake-up is missed.
 */
void waitq_wait(struct waitq *wq, bool (*ready)(void *), void *arg);
void waitq_wake_all(struct waitq *wq);

/* Called from each CPU's timer interrupt, interrupts off: count the tick,
 * wake sleepers, and ask for a reschedule when the slice is used up. */
void sched_tick(void);
/* Called by the interrupt path after EOI: switch threads if asked to. */
void sched_irq_exit(void);

/* Wake sleeping threads for which pred(t, arg) holds (scheduler lock held:
 * pred must only read). */
void sched_wake_sleepers_if(bool (*pred)(struct thread *t, void *arg), void *arg);
/* Interrupt every other online CPU, so each passes its interrupt-exit path. */
void sched_kick_all_cpus(void);

struct thread_info {
	uint32_t id;
	char name[THREAD_NAME_MAX];
	int state;
	uint32_t cpu;
	uint64_t runtime_ns;
	uint64_t switches;
};

/* Copy up to max threads' details; returns how many. */
int sched_snapshot(struct thread_info *out, int max);
const char *thread_state_name(int state);
/* Boot CPU: set up the run queue and make kmain's context a thread. */
void sched_init(void);
/* Application processor: become this CPU's idle thread and schedule; never returns. */
__attribute__((noreturn)) void sched_ap_entry(void);

#endif
