/* struct thread and the scheduler's internal interfaces (see core/sched.h for the public API). */
#ifndef CORE_THREAD_H
#define CORE_THREAD_H

#include <core/sched.h>
#include <mm/kstack.h>

enum thread_state {
	THREAD_RUNNABLE,
	THREAD_RUNNING,
	THREAD_SLEEPING,
	THREAD_BLOCKED,
	THREAD_DEAD,
};

struct thread {
	uint64_t rsp; /* saved by context_switch */
	uint32_t id;
	enum thread_state state;
	char name[THREAD_NAME_MAX];
	struct kstack stack;
	bool static_stack; /* a boot stack: never freed */
	void (*fn)(void *);
	void *arg;
	uint32_t cpu; /* where it runs or last ran */
	unsigned slice;
	uint64_t wake_ns;
	struct thread *next;	 /* run queue, sleep list or wait queue */
	struct thread *all_next; /* every thread, for `threads` */
	uint64_t runtime_ns;
	/* TSC when it last became runnable (sched.c enqueue), 0 while it
	 * runs: the wait for a CPU is not its calls' time (watchdog.h). */
	uint64_t ready_tsc;
	uint64_t switches;
	/* Domains (domain/gate.c): the rights and ring-3 state this thread
	 * carries across switches. */
	uint32_t pkru;		  /* PKRU while it runs */
	uint64_t user_gs;	  /* its user GS base (gate page), or 0 */
	uint64_t kentry;	  /* where entries from ring 3 land on its stack */
	struct thread_gate *gate; /* NULL until it first enters a domain */
};

/* Save prev's and load next's per-thread CPU state (arch/x86/usermode.c). */
void arch_thread_switch(struct thread *prev, struct thread *next);

#endif
