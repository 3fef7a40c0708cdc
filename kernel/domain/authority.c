/*
 * The lifecycle's authority rules and their log lines (domain/authority.h),
 * built into the VM's kernel, maple-hosted and the host unit tests
 * (kernel/test/test_authority.c) alike.
 */
#include <core/log.h>
#include <domain/authority.h>
#include <domain/manifest.h>
#include <maple/abi.h>

bool authority_log_refusal(const char *name, uint32_t id, uint64_t *refusals)
{
	uint64_t n = __atomic_fetch_add(refusals, 1, __ATOMIC_RELAXED);
	if (n == DOMAIN_REFUSALS_LOGGED)
		klog("domain: %s (id %u): %d requests refused; further refusals are not logged",
		     name, id, DOMAIN_REFUSALS_LOGGED);
	return n < DOMAIN_REFUSALS_LOGGED;
}

static bool log_refusal(const struct authority_domain *d)
{
	return authority_log_refusal(d->name, d->id, d->refusals);
}

/* The reason a create failed, as the log line quotes it (the VM's size). */
#define CREATE_ERR_MAX 128
/* ... and a destroy. */
#define DESTROY_ERR_MAX 160

long authority_create_by(const struct authority_domain *creator, const char *module,
			 authority_create_fn create, void *ctx)
{
	/* INVARIANT: a domain creates only what the manifest, compiled into
	 * the kernel (and the runtime), names for its image; its name is its
	 * image's, so no domain can claim another's rights. */
	if (!manifest_may_create(creator->name, module)) {
		if (log_refusal(creator))
			klog("domain: %s (id %u) may not create %s: the manifest does not let %s "
			     "create it",
			     creator->name, creator->id, module, creator->name);
		return -MAPLE_EPERM;
	}
	char err[CREATE_ERR_MAX];
	uint64_t h = create(ctx, module, err, sizeof err);
	if (!h) {
		if (log_refusal(creator))
			klog("domain: %s could not create %s: %s", creator->name, module, err);
		return -MAPLE_EINVAL;
	}
	return (long)h;
}

int authority_destroy_by(const struct authority_domain *caller,
			 const struct authority_domain *target, uint64_t handle,
			 authority_destroy_fn destroy)
{
	if (!target)
		return -MAPLE_ESRCH;
	/* INVARIANT: only a domain's creator, named by its handle (ids are
	 * reused, handles never), may destroy it: not the domain itself, nor
	 * anyone else. The kernel and the console destroy without this rule. */
	if (target->creator != caller->handle) {
		if (log_refusal(caller))
			klog("domain: %s (id %u) may not destroy %s (id %u): not its creator "
			     "(%s%s)",
			     caller->name, caller->id, target->name, target->id,
			     target->creator ? "created by " : "",
			     target->creator ? target->creator_name : "the kernel's");
		return -MAPLE_EPERM;
	}
	char err[DESTROY_ERR_MAX];
	int r = destroy(handle, err, sizeof err);
	if (r < 0 && r != -MAPLE_ESRCH && log_refusal(caller))
		klog("domain: %s (id %u) could not destroy %#lx: %s", caller->name, caller->id,
		     (unsigned long)handle, err);
	return r;
}
