/*
 * Crashing a restartable driver on purpose (ktest/driver_faults.h). The
 * driver is destroyed by its shadow at any moment, so lookups read it under
 * the domain-list lock (domain_foreach) or hold a reference (domain_get).
 */
#include <core/sched.h>
#include <core/time.h>
#include <domain/domain.h>
#include <domain/gate.h>
#include <ktest/counted.h>
#include <ktest/driver_faults.h>
#include <lib/string.h>

#define KILL	(-1)
#define POLL_NS 2000000 /* between looks for a replacement */

static const int cycle[DRIVER_FAULTS] = {INJECT_PF, INJECT_GP, INJECT_UD,
					 INJECT_DE, INJECT_PK, KILL};
static const char *const names[DRIVER_FAULTS] = {"pf", "gp", "ud", "de", "pk", "kill"};

int driver_fault(unsigned i)
{
	return cycle[i % DRIVER_FAULTS];
}

const char *driver_fault_name(int fault)
{
	for (int i = 0; i < DRIVER_FAULTS; i++)
		if (cycle[i] == fault)
			return names[i];
	return "?";
}

struct lookup {
	const char *name;
	bool failed_too;
	uint64_t handle;
};

static void match(struct domain *d, void *arg)
{
	struct lookup *l = arg;
	bool state = d->state == DOMAIN_RUNNING || (l->failed_too && d->state == DOMAIN_FAILING);
	if (state && !strcmp(d->name, l->name))
		l->handle = domain_handle(d);
}

uint64_t driver_current(const char *name)
{
	struct lookup l = {.name = name};
	domain_foreach(match, &l);
	return l.handle;
}

/* Bounded: each pass destroys one instance; one whose destroy fails (a call
 * that never leaves it: -MAPLE_ETIMEDOUT) would otherwise be found again. */
#define DESTROY_ALL_MAX 8

int driver_destroy_all(const char *name)
{
	for (int i = 0; i < DESTROY_ALL_MAX; i++) {
		struct lookup l = {.name = name, .failed_too = true};
		domain_foreach(match, &l);
		if (!l.handle)
			return 0;
		int r = ktest_destroy_handle(l.handle);
		if (r < 0 && r != -MAPLE_ESRCH) /* ESRCH: its shadow destroyed it meanwhile */
			return r;
	}
	return -MAPLE_EBUSY;
}

bool driver_strike(uint64_t handle, int fault)
{
	struct domain *d = domain_get((uint32_t)(handle & HANDLE_ID_MASK));
	bool running = d && domain_handle(d) == handle && d->state == DOMAIN_RUNNING;
	if (running && fault == KILL)
		domain_fail(d, "killed to test recovery");
	else if (running)
		__atomic_store_n(&d->inject, fault, __ATOMIC_RELEASE);
	domain_put(d);
	return running;
}

/* A reference is held for the call: a console destroy may race the striker. */
static long progress_of(uint64_t h, uint64_t progress)
{
	struct domain *d = domain_get((uint32_t)(h & HANDLE_ID_MASK));
	long n = d && domain_handle(d) == h ? domain_call(d, progress, 0, 0, 0, 0) : -MAPLE_ESRCH;
	domain_put(d);
	return n;
}

bool driver_served(struct driver_watch *w, uint64_t h, uint64_t progress)
{
	if (w->h != h)
		*w = (struct driver_watch){.h = h};
	long n = progress_of(h, progress);
	if (n <= 0)
		return false;
	if (!w->first) {
		w->first = n;
		return false;
	}
	return n > w->first;
}

uint64_t driver_wait_serving(const char *name, uint64_t old, uint64_t progress,
			     uint64_t deadline_ns)
{
	struct driver_watch w = {0};
	for (;;) {
		uint64_t h = driver_current(name);
		if (h && h != old && driver_served(&w, h, progress))
			return h;
		if (time_ns() > deadline_ns)
			return 0;
		thread_sleep_ns(POLL_NS);
	}
}
