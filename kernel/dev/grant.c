/*
 * The device grant rule and its log lines (dev/grant.h), built into the
 * VM's kernel, maple-hosted and the host unit tests
 * (kernel/test/test_grant.c) alike.
 */
#include <core/log.h>
#include <dev/grant.h>
#include <domain/handle.h>
#include <lib/fmt.h>

/*
 * INVARIANT: at most one running domain holds a device, and a holder that
 * failed or went away is succeeded only by an instance its own creator
 * makes, so no other domain can slip in between a driver's crash and its
 * shadow's restart. A creating holder counts as running: it is about to.
 */
const char *grant_refusal(const struct device_grant *g, enum domain_state holder,
			  enum domain_state lineage, uint64_t creator)
{
	if (holder == DOMAIN_RUNNING || holder == DOMAIN_CREATING)
		return "its holder runs";
	if (g->lineage == creator)
		return NULL; /* the holder's creator replaces it */
	if (holder != DOMAIN_GONE)
		return "its failed holder is for its own creator to replace";
	if (g->lineage && lineage != DOMAIN_GONE)
		return "it is kept for its last holder's creator";
	return NULL;
}

void grant_describe_holder(const struct device_grant *g, char *buf, size_t len)
{
	if (g->holder)
		fmt_snprintf(buf, len, "%s (id %lu)", g->holder_name,
			     (unsigned long)(g->holder & HANDLE_ID_MASK));
	else if (g->lineage)
		fmt_snprintf(buf, len,
			     "nobody: it is kept for the next instance %s (id %lu) creates",
			     g->lineage_name, (unsigned long)(g->lineage & HANDLE_ID_MASK));
	else
		fmt_snprintf(buf, len, "nobody");
}

const char *grant_decide(struct device_grant *g, const struct authority_domain *d, const char *why,
			 enum domain_state holder, enum domain_state lineage, char *held_by,
			 size_t len)
{
	if (!why)
		why = grant_refusal(g, holder, lineage, d->creator);
	grant_describe_holder(g, held_by, len);
	if (why)
		return why;
	g->holder = d->handle;
	g->lineage = d->creator;
	fmt_snprintf(g->holder_name, sizeof g->holder_name, "%s", d->name);
	fmt_snprintf(g->lineage_name, sizeof g->lineage_name, "%s", d->creator_name);
	return NULL;
}

void grant_log(const char *name, const struct authority_domain *d, const char *why,
	       const char *held_by)
{
	if (why)
		klog("device: %s not granted to %s (id %u): %s (granted to %s)", name, d->name,
		     d->id, why, held_by);
	else
		klog("device: %s granted to %s (id %u), created by %s", name, d->name, d->id,
		     d->creator_name);
}

long grant_refuse(const struct authority_domain *d, const char *what, const char *name,
		  const char *holder)
{
	if (authority_log_refusal(d->name, d->id, d->refusals))
		klog("device: %s (id %u) may not %s %s: it is granted to %s", d->name, d->id, what,
		     name, holder);
	return -MAPLE_EPERM;
}

bool grant_end(struct device_grant *g, uint64_t h)
{
	if (!h || g->holder != h)
		return false;
	g->holder = 0;
	return true;
}
