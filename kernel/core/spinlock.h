/*
 * Spinlocks. Taking one disables interrupts on this CPU (the previous state
 * is kept in the lock and restored on release), so a lock may be shared with
 * interrupt handlers and a holder is never preempted. Release locks in the
 * reverse order of taking them. The kernel implements these in
 * kernel/core/spinlock.c; host unit tests link kernel/test/support/.
 */
#ifndef MAPLE_SPINLOCK_H
#define MAPLE_SPINLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct spinlock {
	volatile uint32_t locked;
	uint32_t irq_was_on; /* interrupt state before the holder took it */
	int32_t holder_cpu;  /* for diagnostics; -1 when free */
	const char *name;
};

#define SPINLOCK_INIT(n)                                                                           \
	{                                                                                          \
		.locked = 0, .irq_was_on = 0, .holder_cpu = -1, .name = (n)                        \
	}

void spin_lock(struct spinlock *l);
void spin_unlock(struct spinlock *l);
bool spin_held(const struct spinlock *l);

#endif
