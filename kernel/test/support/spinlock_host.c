/*
 * Spinlocks for host unit tests and maple-hosted (see core/spinlock.h). Each host thread
 * plays one CPU. There are no interrupts to mask, but the misuse the kernel
 * panics on (taking a lock twice, releasing one not held) aborts the test.
 */
#include <core/spinlock.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

static int32_t next_cpu;
static _Thread_local int32_t this_cpu = -1;

static int32_t my_cpu(void)
{
	if (this_cpu < 0)
		this_cpu = __atomic_fetch_add(&next_cpu, 1, __ATOMIC_RELAXED);
	return this_cpu;
}

static void misuse(const struct spinlock *l, const char *what)
{
	fprintf(stderr, "spinlock '%s': %s by host cpu %d\n", l->name, what, my_cpu());
	abort();
}

void spin_lock(struct spinlock *l)
{
	int32_t me = my_cpu();

	if (__atomic_load_n(&l->locked, __ATOMIC_RELAXED) &&
	    __atomic_load_n(&l->holder_cpu, __ATOMIC_RELAXED) == me)
		misuse(l, "taken twice");
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
			sched_yield();
	__atomic_store_n(&l->holder_cpu, me, __ATOMIC_RELAXED);
}

void spin_unlock(struct spinlock *l)
{
	if (!spin_held(l))
		misuse(l, "released but not held");
	__atomic_store_n(&l->holder_cpu, -1, __ATOMIC_RELAXED);
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

bool spin_held(const struct spinlock *l)
{
	return __atomic_load_n(&l->locked, __ATOMIC_RELAXED) &&
	       __atomic_load_n(&l->holder_cpu, __ATOMIC_RELAXED) == my_cpu();
}
