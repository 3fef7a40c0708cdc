/*
 * The hosted domain lifecycle (domains.h): the linux platform's mechanism
 * (struct lifecycle_platform) under the one create and destroy sequence
 * both platforms run (kernel/domain/lifecycle.c), over the hosted loader
 * (loader.c), gate (gate.c) and entry (entry.c), with the VM's authority
 * and its log lines; the VM's side is kernel/domain/domain.c.
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
#include "pkeys.h"

#include <domain/authority.h>
#include <domain/handle.h>
#include <domain/lifecycle.h>
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
 * taking a slot, the claims, the references, heap grows and device maps,
 * so a domain is found, changed and freed by one thread at a time, and
 * nothing frees a domain another thread is using. A thread running in d
 * holds a call in it (`active`), and a domain thread about to start holds
 * it (hgate_hold): a destroy's drain waits for those; a thread that found
 * d by slot (get) holds a reference (refs), and d's record is freed only
 * when the table's and the last such reference are gone (drop). A domain
 * being created (its init runs without `life`) or destroyed is claimed
 * (creating, destroying), so a second destroyer is refused as the VM's
 * claim refuses it. Lock order: life, then inject.c's, then gate.c's
 * table_lock, then the heap's.
 */
static pthread_mutex_t life = PTHREAD_MUTEX_INITIALIZER;
#define DESTROY_WAIT_NS 2000000000ull /* the VM's (kernel/domain/domain.c) */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One reference less (life held); the record goes with the last, once it
 * has left the table (gone). */
static void drop(struct hosted_domain *d)
{
	if (--d->refs == 0 && d->gone && d->owned)
		free(d);
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

/* The lifecycle's image_find: with ctx == BY_PATH, `what` is a file (the
 * runtime's own `serve` and tests); else a boot module by plain name,
 * HDOM_MODULES/<module>.elf. */
static const int by_path;
#define BY_PATH (&by_path)

static int h_image_find(const void *ctx, const char *what, struct lifecycle_image *img, char *err,
			size_t errlen)
{
	if (ctx == BY_PATH)
		return hosted_read_image(what, img, err, errlen);
	char path[sizeof HDOM_MODULES + MAPLE_DOMAIN_NAME_MAX + 8];
	if (strlen(what) >= MAPLE_DOMAIN_NAME_MAX || !module_name_ok(what)) {
		lifecycle_no_module(what, err, errlen);
		return -1;
	}
	snprintf(path, sizeof path, HDOM_MODULES "%s.elf", what);
	if (access(path, R_OK) < 0) {
		lifecycle_no_module(what, err, errlen);
		return -1;
	}
	return hosted_read_image(path, img, err, errlen);
}

static void h_image_put(struct lifecycle_image *img)
{
	free((void *)img->bytes);
}

static void *h_domain_new(const struct lifecycle_new *n, struct lifecycle_dom *v, char *err,
			  size_t errlen)
{
	struct hosted_domain *d = calloc(1, sizeof *d);
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->owned = 1;
	d->refs = 1; /* the table's, once it has a slot */
	d->creating = 1;
	d->pkey = -1;
	snprintf(d->name, sizeof d->name, "%s", n->name);
	d->creator = n->creator;
	snprintf(d->creator_name, sizeof d->creator_name, "%s", n->creator_name);
	v->mem_pages = HDOM_MEM_PAGES;
	return d;
}

static void h_domain_free(void *d)
{
	free(d);
}

static void view(struct hosted_domain *d, struct lifecycle_dom *v)
{
	*v = (struct lifecycle_dom){.d = d,
				    .id = d->id,
				    .gen = d->gen,
				    .key = d->pkey,
				    .base = d->base,
				    .mem_pages = HDOM_MEM_PAGES};
	snprintf(v->name, sizeof v->name, "%s", d->name);
}

/*
 * A free slot and a key, and the gate's table entry with a stack for every
 * thread (hgate_add): the slot's generation is the gate's. The entry says
 * running before the image is mapped; no call can reach it meanwhile: no
 * domain has its handle yet (lookups by name see it, and a call then
 * faults in its empty slot, failing the caller alone).
 */
static int h_slot_take(void *dp, struct lifecycle_dom *v, char *err, size_t errlen)
{
	struct hosted_domain *d = dp;
	pthread_mutex_lock(&life);
	unsigned id = free_slot();
	int rc = -1;
	if (!id)
		lifecycle_no_slot(err, errlen);
	else if (!hgate_keys() || (d->pkey = pkeys_domain(err, errlen)) >= 0) {
		d->id = id;
		d->base = slot_base(id);
		rc = hgate_add(d, err, errlen);
		if (rc < 0 && d->pkey >= 0)
			pkey_free(d->pkey);
	}
	pthread_mutex_unlock(&life);
	if (rc == 0)
		view(d, v);
	return rc;
}

static void h_slot_release(void *dp)
{
	struct hosted_domain *d = dp;
	pthread_mutex_lock(&life);
	hgate_remove(d);
	if (d->pkey >= 0)
		pkey_free(d->pkey);
	d->gone = 1;
	drop(d);
	pthread_mutex_unlock(&life);
}

static uint8_t *h_image_room(void *d, const struct lifecycle_dom *v,
			     const struct lifecycle_image *img, char *err, size_t errlen)
{
	(void)d;
	return hosted_image_room(img->file, v->base, img->info.span_hi - img->info.span_lo, err,
				 errlen);
}

static void h_image_room_free(void *d, const struct lifecycle_image *img, uint8_t *room)
{
	(void)d;
	munmap(room, img->info.span_hi - img->info.span_lo);
}

static int h_image_map(void *dp, const struct lifecycle_dom *v, const struct lifecycle_image *img,
		       uint8_t *room, char *err, size_t errlen)
{
	struct hosted_domain *d = dp;
	if (hosted_image_protect(&img->info, room, v->key, err, errlen) < 0) {
		h_image_room_free(d, img, room);
		return -1;
	}
	hosted_image_placed(d, &img->info);
	return 0;
}

static void h_grant(void *d)
{
	hdev_grant(d);
}

/* The init as an upcall of its own. A fault unwinds it (entry.c) with d
 * failed in the gate; its line is logged here, where the VM's domain_fail
 * logs it. */
static enum lifecycle_init h_run_init(void *dp, uint64_t entry, long *r, const char **why)
{
	struct hosted_domain *d = dp;
	static const long none[4];
	fflush(stdout);
	int failed = entry_upcall(d, entry, none, r, d->fail_reason, sizeof d->fail_reason) < 0;
	pthread_mutex_lock(&life);
	d->creating = 0; /* a destroyer may claim it from here on */
	pthread_mutex_unlock(&life);
	if (failed) {
		lifecycle_log_failed(d->name, d->id, d->fail_reason);
		*why = d->fail_reason;
		return LIFECYCLE_INIT_FAILED;
	}
	return LIFECYCLE_INIT_RAN;
}

static uint64_t h_methods(void *d)
{
	return ((struct hosted_domain *)d)->nmethods;
}

static void *h_get(uint32_t id, struct lifecycle_dom *v)
{
	pthread_mutex_lock(&life);
	struct hosted_domain *d = hgate_slot(id);
	if (d) {
		d->refs++;
		view(d, v);
	}
	pthread_mutex_unlock(&life);
	return d;
}

static void h_put(void *d)
{
	pthread_mutex_lock(&life);
	drop(d);
	pthread_mutex_unlock(&life);
}

/* The VM's claim: failed d becomes this destroyer's alone. */
static int h_claim(void *dp, char *err, size_t errlen)
{
	struct hosted_domain *d = dp;
	pthread_mutex_lock(&life);
	int rc = d->creating || d->destroying ? -MAPLE_EBUSY : 0;
	if (rc)
		snprintf(err, errlen, "%s is %s", d->name,
			 d->creating ? "still being created" : "already being destroyed");
	else
		d->destroying = 1;
	pthread_mutex_unlock(&life);
	return rc;
}

static void h_fail(void *d, const char *why)
{
	hdom_fail(d, why);
}

/* As the VM: calls in d on other threads get up to 2 s to leave (each
 * unwinds at its next system call, d having failed, or at the kick: each
 * millisecond the threads in d are kicked, as the VM's tick comes back to
 * one, so a thread that was in a raised pass at the last is unwound at a
 * later one). A call on this very thread, below whoever destroys, cannot
 * leave before it returns: no wait can help it, and the answer comes at
 * once. */
static uint64_t h_drain(void *d, uint64_t *waited_ms)
{
	uint64_t start = now_ns(), deadline = start + DESTROY_WAIT_NS;
	while (hgate_active(d) && !hgate_on_my_stack(d) && now_ns() < deadline) {
		struct timespec ms = {.tv_sec = 0, .tv_nsec = 1000000};
		hgate_kick(d);
		nanosleep(&ms, NULL);
	}
	*waited_ms = (now_ns() - start) / 1000000;
	return hgate_active(d);
}

/*
 * THE INVARIANT (the grant's, dev/grant.c): no domain but the holder
 * reaches the device. The grant passes to the next instance its creator
 * makes as soon as d is failing, and d may still run: the gate's return
 * into it checks only the returning callee, and d runs on in its own code
 * until its next system call. So its mapping goes now: an access after it
 * faults, d fails again.
 */
static void h_stays_failed(void *dp)
{
	struct hosted_domain *d = dp;
	pthread_mutex_lock(&life);
	hdev_release(d);
	d->destroying = 0; /* for a later destroy */
	pthread_mutex_unlock(&life);
}

static bool h_release_devices(void *d, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	hdev_release(d); /* a memory file: nothing of it can still be writing */
	return true;
}

/* Everything of d goes: its gate entry, stack and RRefs, its heap, its
 * image and its key; the slot's generation moves on. */
static void h_teardown(void *dp, uint64_t *pages, uint64_t *rrefs)
{
	struct hosted_domain *d = dp;
	*pages = d->pages;
	/* No strike outlives d, and none is armed on its pages while they go
	 * (the watchdog's and the campaign's threads arm them): inject.c. */
	pthread_mutex_lock(&life);
	inject_teardown_begin(d);
	*rrefs = hgate_remove(d);
	uint64_t heap = d->base + DOMAIN_HEAP_OFF;
	if (d->heap_next > heap)
		munmap((void *)heap, d->heap_next - heap);
	munmap((void *)d->base, d->span);
	if (d->pkey >= 0)
		pkey_free(d->pkey);
	inject_teardown_end();
	d->gone = 1;
	drop(d); /* the table's; the destroyer's get holds its own until put */
	pthread_mutex_unlock(&life);
}

/* The linux platform's mechanism under the one lifecycle sequence. */
static const struct lifecycle_platform hosted_platform = {
	.image_find = h_image_find,
	.image_put = h_image_put,
	.domain_new = h_domain_new,
	.domain_free = h_domain_free,
	.slot_take = h_slot_take,
	.slot_release = h_slot_release,
	.image_room = h_image_room,
	.image_map = h_image_map,
	.image_room_free = h_image_room_free,
	.grant = h_grant,
	.run_init = h_run_init,
	.methods = h_methods,
	.get = h_get,
	.put = h_put,
	.fail = h_fail,
	.claim = h_claim,
	.drain = h_drain,
	.stays_failed = h_stays_failed,
	.release_devices = h_release_devices,
	.teardown = h_teardown,
};

int hdom_fail(struct hosted_domain *d, const char *why)
{
	if (!hgate_fail(d))
		return 0;
	snprintf(d->fail_reason, sizeof d->fail_reason, "%s", why);
	hgate_kick(d); /* its threads unwind with that reason (the VM's kick) */
	lifecycle_log_failed(d->name, d->id, why);
	return 1;
}

int hdom_destroy(uint64_t handle, char *err, size_t errlen)
{
	return lifecycle_destroy(&hosted_platform, handle, err, errlen);
}

static uint64_t create(struct hosted_domain *creator, const void *how, const char *what,
		       struct hosted_domain **out, char *err, size_t errlen)
{
	void *d = NULL;
	uint64_t h =
		lifecycle_create(&hosted_platform, how, what, creator ? hgate_handle(creator) : 0,
				 creator ? creator->name : "kernel", &d, err, errlen);
	if (h && out)
		*out = d;
	return h;
}

uint64_t hdom_create_path(struct hosted_domain *creator, const char *path,
			  struct hosted_domain **out, char *err, size_t errlen)
{
	return create(creator, BY_PATH, path, out, err, errlen);
}

uint64_t hdom_create(struct hosted_domain *creator, const char *module, struct hosted_domain **out,
		     char *err, size_t errlen)
{
	return create(creator, NULL, module, out, err, errlen);
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
