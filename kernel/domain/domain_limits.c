/*
 * Per-domain limits (domain/domain.h, struct domain_limits): their defaults,
 * and the count of each domain's threads. Memory is charged where it is
 * mapped (domain/domain_mem.c).
 *
 * Threads are counted here, by domain id and generation, rather than in
 * struct domain: a thread's last act for its domain, the uncharge, comes
 * after its call into the domain has returned, and by then the domain may
 * be destroyed and its struct freed. A count for a generation that is gone
 * is simply never read again.
 */
#include <domain/domain.h>
#include <domain/quota.h>
#include <mm/frame.h>

struct thread_count {
	uint32_t gen;
	uint32_t threads;
};

static struct thread_count counts[GATE_MAX_DOMAINS];
static struct spinlock counts_lock = SPINLOCK_INIT("domain-threads");

/*
 * Defaults, for a domain whose creator gives none:
 *   memory: a quarter of the machine's frames (128 MiB of 512 MiB), so one
 *     domain alone can never take what the kernel and three more domains
 *     of that size need; the kernel reserve guards the rest.
 *   threads: 16, well inside the gate's thread slots and small enough that
 *     one domain's threads (a kernel stack and gate pages each) cannot
 *     crowd out everyone else's.
 */
void domain_limits_init(struct domain *d)
{
	struct frame_stats s;
	frame_get_stats(&s);
	d->limits = (struct domain_limits){
		.mem_pages = quota_default_mem_pages(s.managed),
		.threads = DOMAIN_THREADS_DEFAULT,
	};
}

/* The count of d's generation, started afresh for a new one. Lock held. */
static struct thread_count *count_of(const struct domain *d)
{
	struct thread_count *c = &counts[d->id % GATE_MAX_DOMAINS];
	if (c->gen != d->gen)
		*c = (struct thread_count){.gen = d->gen};
	return c;
}

int domain_thread_charge(struct domain *d)
{
	spin_lock(&counts_lock);
	struct thread_count *c = count_of(d);
	int rc = (int)quota_thread(c->threads, d->limits.threads);
	if (!rc)
		c->threads++;
	spin_unlock(&counts_lock);
	return rc;
}

void domain_thread_uncharge(uint32_t id, uint32_t gen)
{
	spin_lock(&counts_lock);
	struct thread_count *c = &counts[id % GATE_MAX_DOMAINS];
	if (c->gen == gen && c->threads > 0)
		c->threads--;
	spin_unlock(&counts_lock);
}

uint32_t domain_threads(const struct domain *d)
{
	spin_lock(&counts_lock);
	const struct thread_count *c = &counts[d->id % GATE_MAX_DOMAINS];
	uint32_t n = c->gen == d->gen ? c->threads : 0;
	spin_unlock(&counts_lock);
	return n;
}
