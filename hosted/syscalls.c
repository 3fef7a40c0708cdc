/*
 * The Maple syscalls entry.c hands on (syscalls.h): the lifecycle
 * (domains.c), the heap, the device (device.c), the clock, threads, and
 * SYS_LOG's share.
 * Every pointer argument is checked against the calling domain's own
 * memory first (hgate_owns, the VM's dmem_owns), so a bad one costs the
 * caller -MAPLE_EFAULT and nothing else.
 */
#define _GNU_SOURCE
#include "syscalls.h"

#include "device.h"
#include "domains.h"
#include "entry.h"
#include "gate.h"

#include <domain/gate_layout.h>
#include <domain/quota.h>
#include <maple/abi.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

/* A thread made by SYS_THREAD_CREATE that has not run yet. */
struct pending {
	uint64_t domain; /* its domain's handle: a successor in the slot is not it */
	uint64_t fn, arg;
};

static struct pending threads[GATE_MAX_THREADS];
static unsigned nthreads;
static long thread_ids;
static void (*tick)(void *);
static void *tick_arg;

void hsys_set_tick(void (*fn)(void *), void *arg)
{
	tick = fn;
	tick_arg = arg;
}

/* The limit is the VM's rule (quota_thread, DOMAIN_THREADS_DEFAULT alive at
 * once): here it counts the threads that have not run yet. */
static long thread_create(struct hosted_domain *d, uint64_t fn, uint64_t arg)
{
	if (fn < d->base || fn >= d->base + d->span)
		return -MAPLE_EINVAL;
	uint64_t h = hgate_handle(d);
	unsigned mine = 0;
	for (unsigned i = 0; i < nthreads; i++)
		mine += threads[i].domain == h;
	long rc = nthreads == GATE_MAX_THREADS ? -MAPLE_EAGAIN
					       : quota_thread(mine, DOMAIN_THREADS_DEFAULT);
	if (rc < 0)
		return rc;
	threads[nthreads++] = (struct pending){.domain = h, .fn = fn, .arg = arg};
	return ++thread_ids;
}

unsigned hsys_run_threads(void)
{
	unsigned ran = 0;
	while (nthreads) {
		struct pending t = threads[0];
		memmove(threads, threads + 1, --nthreads * sizeof threads[0]);
		/* A thread of a domain destroyed meanwhile never runs (as the
		 * VM's domain_thread_main, which looks it up by generation). */
		struct hosted_domain *d = hgate_domain(t.domain);
		if (!d || hgate_state(d) != GATE_DOMAIN_RUNNING)
			continue;
		const long a[4] = {(long)t.arg, 0, 0, 0};
		char why[256];
		long r;
		fflush(stdout);
		hgate_next_upcall_is_thread(1); /* the VM's CONT_THREAD: no deadline */
		int rc = entry_upcall(d, t.fn, a, &r, why, sizeof why);
		hgate_next_upcall_is_thread(0);
		if (rc < 0)
			printf("hosted: %s failed in a thread: %s\n", d->name, why);
		ran++;
	}
	return ran;
}

/* A name argument (name, len), copied as the VM's syscall.c copies it:
 * 0, or the error for the caller. */
static long copy_name(struct hosted_domain *d, uint64_t p, uint64_t len, char *out, size_t size)
{
	if (len >= size)
		return -MAPLE_EINVAL;
	if (!hgate_owns(d, p, len))
		return -MAPLE_EFAULT;
	memcpy(out, (const void *)p, len);
	out[len] = 0;
	return 0;
}

/* The monotonic clock, as SYS_CLOCK_NS gives it (the VM's time_ns). */
static uint64_t clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int hsys_may_log(struct hosted_domain *d)
{
	bool note; /* one thread enters domains: no lock to take */
	bool ok = log_share_take(&d->log_share, clock_ns(), &note);
	if (note)
		log_share_note(d->name, d->id);
	return ok;
}

long hsys_serve(struct hosted_domain *d, long nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	(void)a2;
	if (tick)
		tick(tick_arg);
	char name[MAPLE_DOMAIN_NAME_MAX];
	long rc;
	switch (nr) {
	case SYS_YIELD: /* no other thread enters domains to yield to */
		return 0;
	case SYS_CLOCK_NS:
		return (long)clock_ns();
	case SYS_HEAP_GROW:
		return hdom_heap_grow(d, a0);
	case SYS_THREAD_CREATE:
		return thread_create(d, a0, a1);
	case SYS_DOMAIN_CREATE:
		rc = copy_name(d, a0, a1, name, sizeof name);
		return rc < 0 ? rc : hdom_create_by(d, name);
	case SYS_DOMAIN_DESTROY:
		return hdom_destroy_by(d, a0);
	case SYS_DEVICE_MAP:
	case SYS_DEVICE_SIZE:
	case SYS_DEVICE_BAR:
	case SYS_DEVICE_BAR_SIZE:
	case SYS_DEVICE_BUSMASTER:
	case SYS_DEVICE_INFO:
	case SYS_DEVICE_CONFIG:
		rc = copy_name(d, a0, a1, name, sizeof name);
		if (rc < 0)
			return rc;
		if (nr == SYS_DEVICE_MAP)
			return hdev_map(d, name);
		if (nr == SYS_DEVICE_SIZE)
			return hdev_size(name);
		return -MAPLE_ESRCH; /* no PCI function exists hosted */
	default:
		return -MAPLE_ENOSYS;
	}
}
