/* The latest domain failures (domain/failures.h), in a ring under one lock. */
#include <core/spinlock.h>
#include <domain/failures.h>
#include <lib/string.h>

static struct failure ring[FAILURES_KEPT];
static uint64_t recorded; /* the latest seq */
static struct spinlock failures_lock = SPINLOCK_INIT("failures");

void failures_record(const struct domain *d)
{
	spin_lock(&failures_lock);
	struct failure *f = &ring[recorded % FAILURES_KEPT];
	f->seq = ++recorded;
	f->handle = domain_handle(d);
	strlcpy(f->name, d->name, sizeof f->name);
	/* Written once, by the domain_fail that left running, before this. */
	strlcpy(f->reason, d->fail_reason, sizeof f->reason);
	spin_unlock(&failures_lock);
}

uint64_t failures_count(void)
{
	spin_lock(&failures_lock);
	uint64_t n = recorded;
	spin_unlock(&failures_lock);
	return n;
}

bool failures_get(uint64_t seq, struct failure *out)
{
	spin_lock(&failures_lock);
	bool kept = seq && seq <= recorded && recorded - seq < FAILURES_KEPT;
	if (kept)
		*out = ring[(seq - 1) % FAILURES_KEPT];
	spin_unlock(&failures_lock);
	return kept;
}
