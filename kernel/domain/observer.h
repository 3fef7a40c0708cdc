/*
 * Domain-event observers: code that wants to know, with a timestamp, when a
 * domain failed, was destroyed, was created, or mapped a device. Only the
 * test image registers any (bench/recovery stamps a restart's stages in
 * memory with them, instead of from COM1 lines it would have to write in
 * the restart path); the linker gathers them into one table (kernel.ld,
 * .domain_observers), which is empty in the production image, like the
 * boot runners' (core/boot_runner.h). So the production kernel holds no
 * observer code, only this loop over an empty table.
 *
 * An observer runs in the context of the event: domain_fail's (any
 * thread, possibly a fault handler, with d's lock released), teardown's
 * (destroyed, reclaim: a thread that may sleep), domain_create's,
 * device_map's. It must not sleep, allocate or take a
 * lock that any of those paths may hold.
 */
#ifndef DOMAIN_OBSERVER_H
#define DOMAIN_OBSERVER_H

#include <core/time.h>
#include <stdint.h>

struct domain;

enum domain_event {
	DOMAIN_EV_FAILED,    /* domain_fail took it from running to failing */
	DOMAIN_EV_DESTROYED, /* its teardown finished, its slot freed */
	DOMAIN_EV_CREATED,   /* domain_create done: its init returned, it runs */
	DOMAIN_EV_MAPPED,    /* device_map mapped a granted device into it */
	DOMAIN_EV_RECLAIM,   /* teardown: its devices stopped, its memory is about to be freed */
};

struct domain_observer {
	void (*fn)(enum domain_event ev, const struct domain *d, uint64_t ns);
};

/* Explicit alignment, as for BOOT_RUNNER: no padding between files' entries. */
#define DOMAIN_OBSERVER(name, ofn)                                                                 \
	static const struct domain_observer domain_observer_##name                                 \
		__attribute__((used, section(".domain_observers"), aligned(8))) = {ofn}

extern const struct domain_observer __domain_observers_start[], __domain_observers_end[];

/* Tell every observer that ev happened to d now (time_ns()). */
static inline void domain_observe(enum domain_event ev, const struct domain *d)
{
	const struct domain_observer *o = __domain_observers_start;
	if (o == __domain_observers_end)
		return;
	uint64_t ns = time_ns();
	for (; o < __domain_observers_end; o++)
		o->fn(ev, d, ns);
}

#endif
