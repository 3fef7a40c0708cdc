/*
 * The authority rules of the domain lifecycle (docs/isolation.md,
 * "Authority"), one copy for both platforms: which domain may create which
 * image (the manifest), which may destroy which (only its creator, named by
 * handle), and how a refusal is reported (the first DOMAIN_REFUSALS_LOGGED
 * of a domain's refusals logged, then one line, then none). The VM
 * (domain/domain.c, dev/device.c, domain/syscall.c) and maple-hosted
 * (hosted/domains.c, hosted/device.c) each describe a domain to these
 * functions with a struct authority_domain and hand them their own create
 * and destroy. Portable: klog (core/log.h) is the only service it uses.
 */
#ifndef DOMAIN_AUTHORITY_H
#define DOMAIN_AUTHORITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Refusals of one domain that are logged; the next one logs that the rest
 * are not, so that a domain cannot flood the log by asking again and again. */
#define DOMAIN_REFUSALS_LOGGED 8

/* What the rules need to know of a domain, filled in by its platform. */
struct authority_domain {
	const char *name; /* its image's name: its only claim to rights */
	uint32_t id;
	uint64_t handle;	  /* id and generation (domain/handle.h) */
	uint64_t creator;	  /* its creator's handle; 0: the kernel (or console) */
	const char *creator_name; /* "kernel" for 0 */
	uint64_t *refusals;	  /* its count of refused requests */
};

/* Count one more refusal of the domain (name, id) in *refusals (atomically:
 * its threads may race); whether to log it. The call that finds
 * DOMAIN_REFUSALS_LOGGED already counted logs "domain: NAME (id N): 8
 * requests refused; further refusals are not logged" and returns false. */
bool authority_log_refusal(const char *name, uint32_t id, uint64_t *refusals);

/* A platform's creation of `module` for `creator`: the new domain's handle,
 * or 0 with err saying why ("membdev: init failed: ..."). */
typedef uint64_t (*authority_create_fn)(void *ctx, const char *module, char *err, size_t errlen);

/* SYS_DOMAIN_CREATE: creator creates `module` only if the manifest lets its
 * image; else -MAPLE_EPERM, logged ("domain: rogue (id 1) may not create
 * membdev: the manifest does not let rogue create it"). Then create(ctx,
 * ...): the handle, or -MAPLE_EINVAL, logged ("domain: bdev_shadow could
 * not create membdev: <err>"). Refusals count (authority_log_refusal). */
long authority_create_by(const struct authority_domain *creator, const char *module,
			 authority_create_fn create, void *ctx);

/* A platform's destroy with the kernel's authority: 0, or a -MAPLE_E* code
 * with err saying why. */
typedef int (*authority_destroy_fn)(uint64_t handle, char *err, size_t errlen);

/* SYS_DOMAIN_DESTROY: caller destroys target (what `handle` names; NULL:
 * nothing, -MAPLE_ESRCH) only if it is target's creator; else -MAPLE_EPERM,
 * logged ("domain: rogue (id 2) may not destroy hello (id 1): not its
 * creator (the kernel's)"), itself included. Then destroy(handle, ...), its
 * failures other than -MAPLE_ESRCH logged ("domain: bdev_shadow (id 1)
 * could not destroy 0x10002: <err>"). */
int authority_destroy_by(const struct authority_domain *caller,
			 const struct authority_domain *target, uint64_t handle,
			 authority_destroy_fn destroy);

#endif
