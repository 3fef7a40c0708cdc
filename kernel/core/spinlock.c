/* Kernel spinlocks (see core/spinlock.h): test-and-set with interrupts off. */
#include <arch/x86/cpu.h>
#include <arch/x86/percpu.h>
#include <core/panic.h>
#include <core/spinlock.h>

void spin_lock(struct spinlock *l)
{
	bool was_on = irq_enabled();
	irq_disable();
	int32_t me = (int32_t)this_cpu()->id;
	if (l->locked && l->holder_cpu == me)
		panic("spinlock '%s' taken twice by cpu %d", l->name, me);
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
			cpu_relax();
	l->irq_was_on = was_on;
	l->holder_cpu = me;
}

void spin_unlock(struct spinlock *l)
{
	bool restore = l->irq_was_on;
	l->holder_cpu = -1;
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
	if (restore)
		irq_enable();
}

bool spin_held(const struct spinlock *l)
{
	return l->locked && l->holder_cpu == (int32_t)this_cpu()->id;
}
