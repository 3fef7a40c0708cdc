/*
 * The hosted domain lifecycle (domains.c), the counterpart of the VM's
 * kernel/domain/domain.c: creating a domain from an image by name (by the
 * runtime, or by a domain within the VM's manifest, kernel/domain/manifest.c
 * itself), destroying it (only by its creator, for a domain), and each
 * domain's own heap (SYS_HEAP_GROW) under the VM's default memory limit.
 */
#ifndef HOSTED_DOMAINS_H
#define HOSTED_DOMAINS_H

#include "loader.h"

#include <domain/authority.h>
#include <domain/quota.h>

#include <stddef.h>
#include <stdint.h>

/* Where images are found by name: the boot modules of the hosted platform,
 * relative to the repository root where ci/test and bench/ run us (as
 * GATEPAGE_KERNEL_ELF). */
#define HDOM_MODULES "out/domains/"

/*
 * The VM's default memory limit of a domain (quota_default_mem_pages, as
 * the VM's domain_limits.c takes it), for the VM's default 512 MiB
 * machine: 128 MiB of image, stack and heap pages. Past it, SYS_HEAP_GROW
 * is -MAPLE_EQUOTA.
 */
#define HDOM_MEM_PAGES quota_default_mem_pages((512ul << 20) / QUOTA_PAGE)

/*
 * Create a domain from `path` (an image file: the runtime's own loads) on
 * behalf of creator (NULL: the runtime, named "kernel" as in the VM), run
 * its _domain_start and publish it. Its handle, or 0 with err the VM's
 * reason ("membdev: init failed: ..."). Runs from the runtime, or from
 * inside the SIGSYS handler of the creator's SYS_DOMAIN_CREATE (entry.c
 * nests the new domain's upcall there).
 */
uint64_t hdom_create_path(struct hosted_domain *creator, const char *path,
			  struct hosted_domain **out, char *err, size_t errlen);

/* The same for a boot module by name (HDOM_MODULES/<module>.elf). */
uint64_t hdom_create(struct hosted_domain *creator, const char *module, struct hosted_domain **out,
		     char *err, size_t errlen);

/* Fail d now, as the VM's domain_fail (a kill, a destroy's first step):
 * the gate refuses calls into it from here on, and the VM's line says why.
 * 1, or 0 if it was not running. */
int hdom_fail(struct hosted_domain *d, const char *why);

/* Destroy a domain by handle with the runtime's authority: fail it if it
 * runs, wait up to 2 s for calls into it on other threads to leave (the
 * VM's wait), then unmap and free everything of it. 0, or -MAPLE_ESRCH (no
 * such domain), -MAPLE_EBUSY (still being created, or already being
 * destroyed) or -MAPLE_ETIMEDOUT (calls into it still in progress: one on
 * this thread below the caller at once, others after the wait; it stays
 * failed) with err. */
int hdom_destroy(uint64_t handle, char *err, size_t errlen);

/* SYS_DOMAIN_CREATE and SYS_DOMAIN_DESTROY of domain d: the shared
 * authority_create_by and authority_destroy_by (kernel/domain/authority.h)
 * over hdom_create and hdom_destroy. */
long hdom_create_by(struct hosted_domain *d, const char *module);
long hdom_destroy_by(struct hosted_domain *d, uint64_t handle);

/* SYS_HEAP_GROW: a fresh zeroed region of at least `bytes` in d's heap
 * window, under its key, within kernel/domain/quota.h's limits. */
long hdom_heap_grow(struct hosted_domain *d, uint64_t bytes);

/* d as the shared authority rules see it (kernel/domain/authority.h,
 * kernel/dev/grant.h): its refusals count and are logged as the VM's. */
struct authority_domain hdom_authority(struct hosted_domain *d);

/* SYS_DEVICE_MAP of d (device.c's hdev_map), ordered with the lifecycle. */
long hdom_device_map(struct hosted_domain *d, const char *name);

/* Domains in the gate's table (running or failed). */
unsigned hdom_count(void);

#endif
