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
#include "watchdog.h"

#include <core/log.h>
#include <domain/gate_layout.h>
#include <domain/handle.h>
#include <domain/quota.h>
#include <maple/abi.h>

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * Domain threads (SYS_THREAD_CREATE), as the VM's domain_thread_main: each
 * a pthread of its own that takes a thread slot (its gate pages and a
 * stack in every domain, gate.c) and enters its domain's function through
 * entry_upcall with the domain's rights, a CONT_THREAD continuation first.
 *
 * THE INVARIANT of the counts below (threads_lock): a domain never has
 * more than its limit (DOMAIN_THREADS_DEFAULT, quota_thread) of threads
 * alive, charged from its create until the thread has left its slot, per
 * generation, so a successor in the slot starts at 0; `live` holds the id
 * of every domain thread not yet ended, which hsys_run_threads and
 * hsys_wait_threads_since wait for.
 */
struct start {
	uint64_t domain; /* its domain's handle: a successor in the slot is not it */
	uint64_t fn, arg;
	unsigned slot; /* its thread slot, taken by the creator */
	long id;       /* its thread id, as SYS_THREAD_CREATE answers it */
};

static pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t threads_ended = PTHREAD_COND_INITIALIZER;
static struct {
	uint32_t gen, threads;
} counts[GATE_MAX_DOMAINS];
static long live[GATE_MAX_THREADS];
static unsigned nlive, ended;
static long thread_ids;
static void (*tick)(void *);
static void *tick_arg;

void hsys_set_tick(void (*fn)(void *), void *arg)
{
	tick = fn;
	tick_arg = arg;
}

/* Charge one thread to d (the VM's domain_thread_charge): its id, or
 * -MAPLE_EAGAIN (the domain's limit, or every thread slot taken). */
static long charge(const struct hosted_domain *d)
{
	pthread_mutex_lock(&threads_lock);
	if (counts[d->id].gen != d->gen)
		counts[d->id].gen = d->gen, counts[d->id].threads = 0;
	long rc = quota_thread(counts[d->id].threads,
			       d->threads_max ? d->threads_max : DOMAIN_THREADS_DEFAULT);
	if (!rc && nlive == GATE_MAX_THREADS)
		rc = -MAPLE_EAGAIN;
	if (!rc) {
		counts[d->id].threads++;
		rc = live[nlive++] = ++thread_ids;
	}
	pthread_mutex_unlock(&threads_lock);
	return rc;
}

static void uncharge(uint64_t handle, long thread)
{
	pthread_mutex_lock(&threads_lock);
	unsigned id = handle_slot(handle) % GATE_MAX_DOMAINS;
	if (counts[id].gen == handle >> HANDLE_GEN_SHIFT && counts[id].threads)
		counts[id].threads--;
	for (unsigned i = 0; i < nlive; i++)
		if (live[i] == thread)
			live[i] = live[--nlive];
	ended++;
	pthread_cond_broadcast(&threads_ended);
	pthread_mutex_unlock(&threads_lock);
}

static void *thread_main(void *p)
{
	struct start s = *(struct start *)p;
	free(p);
	char why[256];
	if (entry_thread_begin(s.slot, why, sizeof why) < 0) {
		/* Its create already answered: the thread ends without running,
		 * as one of a domain destroyed meanwhile does. */
		klog("hosted: domain thread %ld cannot start: %s", s.id, why);
		uncharge(s.domain, s.id);
		return NULL;
	}
	/* Looked up by handle and held (a destroy waits for it), never
	 * through a pointer kept since creation: the domain may have been
	 * destroyed meanwhile, and then the thread never runs (as the VM's). */
	struct hosted_domain *d = hgate_hold(s.domain);
	if (d) {
		const long a[4] = {(long)s.arg, 0, 0, 0};
		long r;
		hgate_next_upcall_is_thread(1); /* the VM's CONT_THREAD: no deadline */
		int rc = entry_upcall(d, s.fn, a, &r, why, sizeof why);
		hgate_next_upcall_is_thread(0);
		if (rc < 0)
			printf("hosted: %s failed in a thread: %s\n", d->name, why);
		fflush(stdout);
		hgate_release(d);
	}
	entry_thread_end();
	uncharge(s.domain, s.id);
	return NULL;
}

/* The VM's sys_thread_create: the limit is charged and a thread slot
 * taken before anything else, so a domain at either limit hears
 * -MAPLE_EAGAIN now and costs nothing. */
static long thread_create(struct hosted_domain *d, uint64_t fn, uint64_t arg)
{
	if (fn < d->base || fn >= d->base + d->span)
		return -MAPLE_EINVAL;
	long tid = charge(d);
	if (tid < 0)
		return tid;
	char why[160];
	long slot = hgate_slot_take(why, sizeof why);
	struct start *s = slot < 0 ? NULL : malloc(sizeof *s);
	pthread_attr_t attr;
	pthread_t t;
	int made = -1;
	if (s) {
		*s = (struct start){.domain = hgate_handle(d),
				    .fn = fn,
				    .arg = arg,
				    .slot = (unsigned)slot,
				    .id = tid};
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		made = pthread_create(&t, &attr, thread_main, s);
		pthread_attr_destroy(&attr);
	}
	if (made != 0) {
		if (slot >= 0)
			hgate_slot_give_back((unsigned)slot);
		free(s);
		uncharge(hgate_handle(d), tid);
		return slot < 0 ? slot : -MAPLE_ENOMEM;
	}
	return tid;
}

long hsys_thread_mark(void)
{
	pthread_mutex_lock(&threads_lock);
	long mark = thread_ids;
	pthread_mutex_unlock(&threads_lock);
	return mark;
}

/* How many domain threads made after mark are alive; threads_lock held. */
static unsigned alive_since(long mark)
{
	unsigned n = 0;
	for (unsigned i = 0; i < nlive; i++)
		n += live[i] > mark;
	return n;
}

unsigned hsys_wait_threads_since(long mark, unsigned ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until); /* threads_ended's clock */
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000)
		until.tv_sec++, until.tv_nsec -= 1000000000;
	pthread_mutex_lock(&threads_lock);
	while (alive_since(mark) &&
	       pthread_cond_timedwait(&threads_ended, &threads_lock, &until) == 0)
		;
	unsigned left = alive_since(mark);
	pthread_mutex_unlock(&threads_lock);
	return left;
}

unsigned hsys_run_threads(void)
{
	pthread_mutex_lock(&threads_lock);
	while (nlive)
		pthread_cond_wait(&threads_ended, &threads_lock);
	unsigned n = ended;
	ended = 0;
	pthread_mutex_unlock(&threads_lock);
	return n;
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
	bool note;
	static pthread_mutex_t share_lock = PTHREAD_MUTEX_INITIALIZER; /* threads of d at once */
	pthread_mutex_lock(&share_lock);
	bool ok = log_share_take(&d->log_share, clock_ns(), &note);
	pthread_mutex_unlock(&share_lock);
	if (note)
		log_share_note(d->name, d->id);
	return ok;
}

/*
 * SYS_SLEEP_NS, as the VM's: inside a call no longer than its deadline
 * (hwatch_bound_sleep_ns), after which the callee fails as timed out, as
 * the VM's tick fails it on waking; and cut short when d fails meanwhile
 * (the VM wakes the threads asleep inside a failed domain), so the thread
 * unwinds at this syscall's return (entry.c). In slices, so a failure is
 * seen within one.
 */
#define SLEEP_SLICE_NS 5000000ull
static long sleep_ns(struct hosted_domain *d, uint64_t ns)
{
	int bounded;
	uint64_t want = hwatch_bound_sleep_ns(ns, &bounded), end = clock_ns() + want;
	if (end < want)
		end = UINT64_MAX;
	for (uint64_t now; hgate_state(d) == GATE_DOMAIN_RUNNING && (now = clock_ns()) < end;) {
		uint64_t left = end - now < SLEEP_SLICE_NS ? end - now : SLEEP_SLICE_NS;
		struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)left};
		nanosleep(&ts, NULL);
	}
	if (bounded && hgate_state(d) == GATE_DOMAIN_RUNNING) {
		char why[128];
		hwatch_fail_overdue(why, sizeof why);
	}
	return 0;
}

long hsys_serve(struct hosted_domain *d, long nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	(void)a2;
	if (tick)
		tick(tick_arg);
	char name[MAPLE_DOMAIN_NAME_MAX];
	long rc;
	switch (nr) {
	case SYS_YIELD:
		sched_yield();
		return 0;
	case SYS_SLEEP_NS:
		return sleep_ns(d, a0);
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
			return hdom_device_map(d, name);
		if (nr == SYS_DEVICE_SIZE)
			return hdev_size(name);
		return -MAPLE_ESRCH; /* no PCI function exists hosted */
	default:
		return -MAPLE_ENOSYS;
	}
}
