/*
 * dom_lock: a test-and-set spinlock for one domain's threads. The kernel
 * preempts domain threads, so a waiter that has spun for a while yields
 * instead of burning the rest of its time slice against a holder that is
 * not running.
 */
#include <sdk/dom.h>

#define SPINS_BEFORE_YIELD 256

void dom_lock(struct dom_lock *l)
{
	for (unsigned spins = 0; __atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE);) {
		/* Wait on a plain read so the cache line is not pulled back and
		 * forth by exchanges while the lock is held. */
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED)) {
			if (++spins == SPINS_BEFORE_YIELD) {
				spins = 0;
				maple_yield();
			} else {
				__builtin_ia32_pause();
			}
		}
	}
}

void dom_unlock(struct dom_lock *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}
