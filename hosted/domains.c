/*
 * The hosted domain lifecycle (domains.h): the counterpart of the VM's
 * kernel/domain/domain.c over the hosted loader (loader.c), gate (gate.c)
 * and entry (entry.c), with the VM's authority and its log lines.
 *
 * AUTHORITY, the VM's, decided by the same code (kernel/domain/authority.c,
 * docs/isolation.md "Authority"): a domain creates only the images the
 * compiled-in manifest lets its image create (kernel/domain/manifest.c);
 * its name is its image's, so it cannot claim another's rights; and it
 * destroys only the domains it created, named by handle (id and
 * generation), so a destroyed slot's next domain is out of reach of the
 * old handle. The runtime (the VM's kernel and console) may create and
 * destroy anything. The heap's limits are kernel/domain/quota.c's, the
 * lines kernel/domain/lifecycle_lines.c's.
 *
 * A created domain's _domain_start runs as an upcall of its own. When a
 * domain asked for it, that is from inside the SIGSYS handler of the
 * creator's SYS_DOMAIN_CREATE (entry.c says how the nested upcall is made
 * safe); if the new domain fails in it, only it fails: its upcall unwinds
 * to here and the creator hears -MAPLE_EINVAL, as from the VM.
 */
#define _GNU_SOURCE
#include "domains.h"

#include "device.h"
#include "entry.h"
#include "gate.h"
#include "inject.h"

#include <domain/authority.h>
#include <domain/handle.h>
#include <domain/lifecycle_lines.h>
#include <domain/quota.h>
#include <domain/slot_layout.h>
#include <maple/abi.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/*
 * THE INVARIANT (domain threads run at once, syscalls.c): `life` orders
 * every create, destroy, heap grow and device map, so a domain is found,
 * changed and freed by one thread at a time, and nothing frees a domain
 * another thread is using: a thread running in d holds a call in it
 * (`active`), an upcall into it too, and a domain thread about to start
 * holds it (hgate_hold); a destroy fails d, lets go of `life` while it
 * waits for those to leave (up to the VM's 2 s), and frees d only once
 * none is left, with `life` held again. A domain being created (its init
 * runs without `life`) or destroyed is claimed (creating, destroying), so
 * a second destroy is refused as the VM's claim() refuses it. Lock order:
 * life, then inject.c's, then gate.c's table_lock, then the heap's.
 */
static pthread_mutex_t life = PTHREAD_MUTEX_INITIALIZER;
#define DESTROY_WAIT_NS 2000000000ull /* the VM's (kernel/domain/domain.c) */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct authority_domain hdom_authority(struct hosted_domain *d)
{
	return (struct authority_domain){.name = d->name,
					 .id = d->id,
					 .handle = hgate_handle(d),
					 .creator = d->creator,
					 .creator_name = d->creator_name,
					 .refusals = &d->refusals};
}

static unsigned free_slot(void)
{
	for (unsigned id = 1; id < GATE_MAX_DOMAINS; id++)
		if (!hgate_slot(id))
			return id;
	return 0;
}

/* Everything of d goes: its device mapping, its gate entry, stack and
 * RRefs, its heap, its image and its key; the slot's generation moves on. */
static void teardown(struct hosted_domain *d)
{
	uint64_t pages = d->pages;
	/* No strike outlives d, and none is armed on its pages while they go
	 * (the watchdog's and the campaign's threads arm them): inject.c. */
	inject_teardown_begin(d);
	hdev_release(d);
	uint64_t rrefs = hgate_remove(d);
	uint64_t heap = d->base + DOMAIN_HEAP_OFF;
	if (d->heap_next > heap)
		munmap((void *)heap, d->heap_next - heap);
	munmap((void *)d->base, d->span);
	if (d->pkey >= 0)
		pkey_free(d->pkey);
	inject_teardown_end();
	lifecycle_log_destroyed(d->name, d->id, pages, rrefs);
	if (d->owned)
		free(d);
}

int hdom_fail(struct hosted_domain *d, const char *why)
{
	if (!hgate_fail(d))
		return 0;
	snprintf(d->fail_reason, sizeof d->fail_reason, "%s", why);
	lifecycle_log_failed(d->name, d->id, why);
	return 1;
}

int hdom_destroy(uint64_t handle, char *err, size_t errlen)
{
	pthread_mutex_lock(&life);
	struct hosted_domain *d = hgate_domain(handle);
	if (!d || d->creating || d->destroying) {
		if (!d)
			lifecycle_no_such_domain(err, errlen);
		else
			snprintf(err, errlen, "%s is %s", d->name,
				 d->creating ? "still being created" : "already being destroyed");
		pthread_mutex_unlock(&life);
		return d ? -MAPLE_EBUSY : -MAPLE_ESRCH; /* the VM's claim() */
	}
	hdom_fail(d, "destroyed");
	d->destroying = 1;
	pthread_mutex_unlock(&life);
	/* As the VM: calls in d on other threads get up to 2 s to leave (each
	 * unwinds at its next system call, d having failed). A call on this
	 * very thread, below whoever destroys, cannot leave before it returns:
	 * no wait can help it, and the answer comes at once. */
	uint64_t deadline = now_ns() + DESTROY_WAIT_NS;
	while (hgate_active(d) && !hgate_on_my_stack(d) && now_ns() < deadline) {
		struct timespec ms = {.tv_sec = 0, .tv_nsec = 1000000};
		entry_wait_begin(); /* where threads take turns, theirs */
		nanosleep(&ms, NULL);
		entry_wait_end();
	}
	pthread_mutex_lock(&life);
	d->destroying = 0;
	/* Nothing is freed while calls remain: it stays failed, for a later
	 * destroy. */
	uint64_t active = hgate_active(d);
	if (active) {
		/* THE INVARIANT (the grant's, dev/grant.c): no domain but the
		 * holder reaches the device. The grant passes to the next instance
		 * its creator makes as soon as d is failing, and d may still run:
		 * the gate's return into it checks only the returning callee, and
		 * d runs on in its own code until its next system call. So its
		 * mapping goes now: an access after it faults, d fails again. */
		hdev_release(d);
		snprintf(err, errlen,
			 "%s still has %lu calls in progress; it stays failed, destroy it again",
			 d->name, (unsigned long)active);
		pthread_mutex_unlock(&life);
		return -MAPLE_ETIMEDOUT;
	}
	teardown(d);
	pthread_mutex_unlock(&life);
	return 0;
}

uint64_t hdom_create_path(struct hosted_domain *creator, const char *path,
			  struct hosted_domain **out, char *err, size_t errlen)
{
	pthread_mutex_lock(&life);
	unsigned id = free_slot();
	struct hosted_domain *d = id ? calloc(1, sizeof *d) : NULL;
	if (!id)
		lifecycle_no_slot(err, errlen);
	else if (!d)
		snprintf(err, errlen, "out of memory");
	if (!d || hosted_load(path, id, hgate_keys(), d, err, errlen) < 0) {
		pthread_mutex_unlock(&life);
		free(d);
		return 0;
	}
	d->owned = 1;
	d->creator = creator ? hgate_handle(creator) : 0;
	snprintf(d->creator_name, sizeof d->creator_name, "%s", creator ? creator->name : "kernel");
	d->creating = 1; /* no destroy until its init is over */
	if (hgate_add(d, err, errlen) < 0) {
		munmap((void *)d->base, d->span);
		if (d->pkey >= 0)
			pkey_free(d->pkey);
		free(d);
		pthread_mutex_unlock(&life);
		return 0;
	}
	uint64_t h = hgate_handle(d);
	hdev_grant(d);
	pthread_mutex_unlock(&life);
	static const long none[4];
	char why[256];
	long r = 0;
	fflush(stdout);
	/* A fault unwinds the upcall (entry.c) with d failed in the gate; its
	 * line is logged here, where the VM's domain_fail logs it. */
	int failed = entry_upcall(d, d->entry, none, &r, why, sizeof why) < 0;
	pthread_mutex_lock(&life);
	d->creating = 0;
	pthread_mutex_unlock(&life);
	if (failed)
		lifecycle_log_failed(d->name, d->id, why);
	if (!lifecycle_init_failed(d->name, r, failed, why, err, errlen)) {
		lifecycle_log_created(d->name, d->creator_name, d->id, d->pkey, d->span, d->base,
				      d->nmethods);
		if (out)
			*out = d;
		return h;
	}
	hdom_fail(d, "init failed"); /* a negative result: it was running */
	char ignored[160];
	hdom_destroy(h, ignored, sizeof ignored);
	return 0;
}

/* A boot module's name is a plain file name: no path can be smuggled in. */
static int module_name_ok(const char *m)
{
	if (!*m)
		return 0;
	for (; *m; m++)
		if (!((*m >= 'a' && *m <= 'z') || (*m >= 'A' && *m <= 'Z') ||
		      (*m >= '0' && *m <= '9') || *m == '_' || *m == '-'))
			return 0;
	return 1;
}

uint64_t hdom_create(struct hosted_domain *creator, const char *module, struct hosted_domain **out,
		     char *err, size_t errlen)
{
	char path[sizeof HDOM_MODULES + MAPLE_DOMAIN_NAME_MAX + 8];
	if (strlen(module) < MAPLE_DOMAIN_NAME_MAX && module_name_ok(module))
		snprintf(path, sizeof path, HDOM_MODULES "%s.elf", module);
	if (strlen(module) >= MAPLE_DOMAIN_NAME_MAX || !module_name_ok(module) ||
	    access(path, R_OK) < 0) {
		lifecycle_no_module(module, err, errlen);
		return 0;
	}
	return hdom_create_path(creator, path, out, err, errlen);
}

/* authority_create_by's create: hdom_create for `creator`. */
static uint64_t create_for(void *creator, const char *module, char *err, size_t errlen)
{
	return hdom_create(creator, module, NULL, err, errlen);
}

long hdom_create_by(struct hosted_domain *d, const char *module)
{
	struct authority_domain who = hdom_authority(d);
	return authority_create_by(&who, module, create_for, d);
}

long hdom_destroy_by(struct hosted_domain *caller, uint64_t handle)
{
	/* The target as it is now, copied under `life`: another thread may
	 * destroy and free it before authority_destroy_by is done with it
	 * (hdom_destroy looks it up again by handle). */
	char name[sizeof caller->name], creator_name[sizeof caller->creator_name];
	uint64_t refusals = 0;
	pthread_mutex_lock(&life);
	struct hosted_domain *d = hgate_domain(handle);
	struct authority_domain who = hdom_authority(caller), target;
	if (d) {
		target = hdom_authority(d);
		snprintf(name, sizeof name, "%s", d->name);
		snprintf(creator_name, sizeof creator_name, "%s", d->creator_name);
		target.name = name;
		target.creator_name = creator_name;
		target.refusals = &refusals; /* a target's count is not asked for */
	}
	pthread_mutex_unlock(&life);
	return authority_destroy_by(&who, d ? &target : NULL, handle, hdom_destroy);
}

static long heap_grow(struct hosted_domain *d, uint64_t bytes);

long hdom_device_map(struct hosted_domain *d, const char *name)
{
	pthread_mutex_lock(&life);
	long rc = hdev_map(d, name);
	pthread_mutex_unlock(&life);
	return rc;
}

long hdom_heap_grow(struct hosted_domain *d, uint64_t bytes)
{
	pthread_mutex_lock(&life); /* two threads of d may grow it at once */
	long rc = heap_grow(d, bytes);
	pthread_mutex_unlock(&life);
	return rc;
}

static long heap_grow(struct hosted_domain *d, uint64_t bytes)
{
	/* The VM's rules (domain/quota.h): the region's size, the window,
	 * then the memory limit, each checked before anything is mapped. */
	long len = quota_heap_region(bytes);
	if (len < 0)
		return len;
	uint64_t va = d->heap_next, pages = (uint64_t)len / QUOTA_PAGE;
	long rc = quota_window(d->base, va, (uint64_t)len);
	if (!rc)
		rc = quota_charge(d->pages, HDOM_MEM_PAGES, pages);
	if (rc < 0)
		return rc;
	char why[128];
	if (!hgate_map(va, (uint64_t)len, d->pkey, "a heap region", why, sizeof why))
		return -MAPLE_ENOMEM;
	d->heap_next += (uint64_t)len;
	d->pages += pages;
	return (long)va;
}

unsigned hdom_count(void)
{
	unsigned n = 0;
	for (unsigned id = 1; id < GATE_MAX_DOMAINS; id++)
		n += hgate_slot(id) != NULL;
	return n;
}
