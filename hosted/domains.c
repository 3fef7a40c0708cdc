/*
 * The hosted domain lifecycle (domains.h): the counterpart of the VM's
 * kernel/domain/domain.c over the hosted loader (loader.c), gate (gate.c)
 * and entry (entry.c), with the VM's authority and its log lines.
 *
 * AUTHORITY, as in the VM (docs/isolation.md, "Authority"): a domain
 * creates only the images the compiled-in manifest lets its image create
 * (kernel/domain/manifest.c, the VM's very table); its name is its image's,
 * so it cannot claim another's rights; and it destroys only the domains it
 * created, named by handle (id and generation), so a destroyed slot's next
 * domain is out of reach of the old handle. The runtime (the VM's kernel
 * and console) may create and destroy anything.
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

#include <core/log.h>
#include <domain/domain.h>
#include <domain/manifest.h>
#include <maple/abi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096ul

int hdom_log_refusal(struct hosted_domain *d)
{
	uint64_t n = d->refusals++;
	if (n == DOMAIN_REFUSALS_LOGGED)
		klog("domain: %s (id %u): %d requests refused; further refusals are not logged",
		     d->name, d->id, DOMAIN_REFUSALS_LOGGED);
	return n < DOMAIN_REFUSALS_LOGGED;
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
	hdev_release(d);
	uint64_t rrefs = hgate_remove(d);
	uint64_t heap = d->base + DOMAIN_HEAP_OFF;
	if (d->heap_next > heap)
		munmap((void *)heap, d->heap_next - heap);
	munmap((void *)d->base, d->span);
	if (d->pkey >= 0)
		pkey_free(d->pkey);
	klog("domain: %s (id %u) destroyed, %lu pages and %lu RRefs returned", d->name, d->id,
	     (unsigned long)pages, (unsigned long)rrefs);
	if (d->owned)
		free(d);
}

int hdom_fail(struct hosted_domain *d, const char *why)
{
	if (!hgate_fail(d))
		return 0;
	snprintf(d->fail_reason, sizeof d->fail_reason, "%s", why);
	klog("domain: %s (id %u) failed: %s", d->name, d->id, why);
	return 1;
}

int hdom_destroy(uint64_t handle, char *err, size_t errlen)
{
	struct hosted_domain *d = hgate_domain(handle);
	if (!d) {
		snprintf(err, errlen, "no such domain (already destroyed?)");
		return -MAPLE_ESRCH;
	}
	hdom_fail(d, "destroyed");
	/* One thread enters domains: a call still in d is on this very
	 * thread, below whoever destroys, and cannot leave before it returns.
	 * The VM waits 2 s for such calls and then answers this; here no wait
	 * can help. Nothing is freed: it stays failed, for a later destroy. */
	uint64_t active = hgate_active(d);
	if (active) {
		snprintf(err, errlen,
			 "%s still has %lu calls in progress; it stays failed, destroy it again",
			 d->name, (unsigned long)active);
		return -MAPLE_ETIMEDOUT;
	}
	teardown(d);
	return 0;
}

uint64_t hdom_create_path(struct hosted_domain *creator, const char *path,
			  struct hosted_domain **out, char *err, size_t errlen)
{
	unsigned id = free_slot();
	if (!id) {
		snprintf(err, errlen, "all %d domain slots are in use", GATE_MAX_DOMAINS - 1);
		return 0;
	}
	struct hosted_domain *d = calloc(1, sizeof *d);
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return 0;
	}
	if (hosted_load(path, id, hgate_keys(), d, err, errlen) < 0) {
		free(d);
		return 0;
	}
	d->owned = 1;
	d->creator = creator ? hgate_handle(creator) : 0;
	snprintf(d->creator_name, sizeof d->creator_name, "%s", creator ? creator->name : "kernel");
	if (hgate_add(d, err, errlen) < 0) {
		munmap((void *)d->base, d->span);
		if (d->pkey >= 0)
			pkey_free(d->pkey);
		free(d);
		return 0;
	}
	uint64_t h = hgate_handle(d);
	hdev_grant(d);
	static const long none[4];
	char why[256];
	long r;
	fflush(stdout);
	if (entry_upcall(d, d->entry, none, &r, why, sizeof why) < 0) {
		klog("domain: %s (id %u) failed: %s", d->name, d->id, why);
		snprintf(err, errlen, "%s: init failed: %s", d->name, why);
	} else if (r < 0) {
		snprintf(err, errlen, "%s: domain_main returned %ld", d->name, r);
		hdom_fail(d, "init failed");
	} else {
		klog("domain: %s created by %s: id %u, key %d, %lu KiB image at %#lx, %u methods",
		     d->name, d->creator_name, d->id, d->pkey, (unsigned long)(d->span >> 10),
		     (unsigned long)d->base, d->nmethods);
		if (out)
			*out = d;
		return h;
	}
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
		snprintf(err, errlen, "no boot module named '%s'", module);
		return 0;
	}
	return hdom_create_path(creator, path, out, err, errlen);
}

long hdom_create_by(struct hosted_domain *d, const char *module)
{
	if (!manifest_may_create(d->name, module)) {
		if (hdom_log_refusal(d))
			klog("domain: %s (id %u) may not create %s: the manifest does not let %s "
			     "create it",
			     d->name, d->id, module, d->name);
		return -MAPLE_EPERM;
	}
	char err[256];
	uint64_t h = hdom_create(d, module, NULL, err, sizeof err);
	if (!h) {
		if (hdom_log_refusal(d))
			klog("domain: %s could not create %s: %s", d->name, module, err);
		return -MAPLE_EINVAL;
	}
	return (long)h;
}

long hdom_destroy_by(struct hosted_domain *caller, uint64_t handle)
{
	struct hosted_domain *d = hgate_domain(handle);
	if (!d)
		return -MAPLE_ESRCH;
	/* Only the creator, named by its handle (slots are reused, handles
	 * never): not the domain itself, nor anyone else. */
	if (d->creator != hgate_handle(caller)) {
		if (hdom_log_refusal(caller))
			klog("domain: %s (id %u) may not destroy %s (id %u): not its creator "
			     "(%s%s)",
			     caller->name, caller->id, d->name, d->id,
			     d->creator ? "created by " : "",
			     d->creator ? d->creator_name : "the kernel's");
		return -MAPLE_EPERM;
	}
	char err[160];
	int r = hdom_destroy(handle, err, sizeof err);
	if (r < 0 && r != -MAPLE_ESRCH && hdom_log_refusal(caller))
		klog("domain: %s (id %u) could not destroy %#lx: %s", caller->name, caller->id,
		     (unsigned long)handle, err);
	return r;
}

long hdom_heap_grow(struct hosted_domain *d, uint64_t bytes)
{
	/* Zero, or more than the whole window could ever hold, is a bad
	 * argument, not a limit reached (dmem_heap_grow). */
	if (!bytes || bytes > DOMAIN_HEAP_MAX)
		return -MAPLE_EINVAL;
	uint64_t len = bytes < DOMAIN_HEAP_REGION_MIN ? DOMAIN_HEAP_REGION_MIN
						      : (bytes + PAGE - 1) & ~(PAGE - 1);
	uint64_t va = d->heap_next, end = d->base + DOMAIN_HEAP_OFF + DOMAIN_HEAP_MAX;
	/* A full window is a limit too; so is the memory limit. */
	if (len > end - va || d->pages + len / PAGE > HDOM_MEM_PAGES)
		return -MAPLE_EQUOTA;
	char why[128];
	if (!hgate_map(va, len, d->pkey, "a heap region", why, sizeof why))
		return -MAPLE_ENOMEM;
	d->heap_next += len;
	d->pages += len / PAGE;
	return (long)va;
}

unsigned hdom_count(void)
{
	unsigned n = 0;
	for (unsigned id = 1; id < GATE_MAX_DOMAINS; id++)
		n += hgate_slot(id) != NULL;
	return n;
}
