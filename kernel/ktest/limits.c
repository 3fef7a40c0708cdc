/*
 * In-guest tests of the per-domain limits and of what happens when the
 * machine itself runs out: a domain driven to its memory limit, then past
 * all free memory while a second one keeps allocating and serving; a
 * domain's threads to their limit and past it, and under churn; a page
 * table that cannot be allocated. Each asserts the exact error, that the
 * offender runs on, and that every frame, thread and page table is back
 * at its starting count afterwards (ktest/counted.h).
 */
#include <arch/x86/layout.h>
#include <arch/x86/pte.h>
#include <core/log.h>
#include <core/sched.h>
#include <core/time.h>
#include <domain/domain.h>
#include <domain/watchdog.h>
#include <ktest/counted.h>
#include <ktest/ktest.h>
#include <mm/frame.h>
#include <mm/kmalloc.h>
#include <mm/vm.h>
#include <test/hog/hog.h>

#define RUN_WAIT_NS    120000000000ULL /* only stops a hang */
#define SETTLE_WAIT_NS 10000000000ULL  /* threads ending, after release */
#define GROW_BYTES     (1UL << 20)     /* per heap region when exhausting the machine */
#define QUOTA_BYTES    (256UL << 10)   /* per heap region when filling a quota */
#define GROWS_PER_CALL 8	       /* keeps each call inside the gate's watchdog */
#define CHURN_THREADS  240
#define CHURN_BATCH    24

/* Take every free frame the allocator gives `take`, chained through their
 * own first words; returns the chain. */
static uint64_t hold_frames(uint64_t (*take)(void))
{
	uint64_t head = 0, pa;
	while ((pa = take()) != 0) {
		*(uint64_t *)phys_to_virt(pa) = head;
		head = pa;
	}
	return head;
}

/* Give back frames from the chain until `keep_free` are free (all of them
 * for UINT64_MAX); returns what is left of it. */
static uint64_t release_until(uint64_t head, uint64_t keep_free)
{
	struct frame_stats fs;
	for (frame_get_stats(&fs); head && fs.free < keep_free; frame_get_stats(&fs)) {
		uint64_t next = *(uint64_t *)phys_to_virt(head);
		frame_free(head, 1);
		head = next;
	}
	return head;
}

/* Grow d's heap in `bytes` regions until refused; returns the refusal. */
static long grow_until_refused(struct domain *d, uint64_t bytes)
{
	long r;
	do
		r = domain_call(d, Hog_grow_METHOD, (long)bytes, GROWS_PER_CALL, 0, 0);
	while (r == 0);
	return r;
}

/* Nothing reserved in flight, nothing lost: the charge is exactly the
 * frames mapped for d (it has no device) and its page tables. */
static bool charge_exact(struct domain *d)
{
	return d->mem_charged == d->pages + d->tables;
}

static void memory_exhaustion(struct ktest_ctx *t)
{
	struct frame_stats fs;
	frame_get_stats(&fs);
	/* One domain's heap window must be able to outgrow free memory. */
	KT_ASSERT(fs.free * FRAME_SIZE < DOMAIN_HEAP_MAX);

	struct domain *hog = ktest_create(t, "hog");
	if (!hog)
		return;
	struct domain *other = ktest_create(t, "hog");
	if (!other) {
		ktest_destroy(hog);
		return;
	}
	/* Bad arguments are bad arguments, not limits. */
	KT_ASSERT_EQ(domain_call(hog, Hog_grow_METHOD, 0, 1, 0, 0), -MAPLE_EINVAL);
	KT_ASSERT_EQ(domain_call(hog, Hog_grow_METHOD, (long)(DOMAIN_HEAP_MAX + 1), 1, 0, 0),
		     -MAPLE_EINVAL);
	KT_ASSERT_EQ(domain_call(hog, Hog_grow_METHOD, -1, 1, 0, 0), -MAPLE_EINVAL);

	/* Its own limit: -MAPLE_EQUOTA once the next region (64 pages and
	 * at most 3 tables) no longer fits, and it runs on. */
	hog->limits.mem_pages = hog->mem_charged + 1000;
	KT_ASSERT_EQ(grow_until_refused(hog, QUOTA_BYTES), -MAPLE_EQUOTA);
	KT_ASSERT(hog->mem_charged <= hog->limits.mem_pages);
	KT_ASSERT(hog->limits.mem_pages - hog->mem_charged < QUOTA_BYTES / PAGE_SIZE + 3);
	KT_ASSERT(charge_exact(hog));
	KT_ASSERT(domain_call(hog, Hog_grown_METHOD, 0, 0, 0, 0) >= 10);
	KT_ASSERT_EQ(hog->state, DOMAIN_RUNNING);

	/* The bystander warms its heap and keeps allocating from it on a
	 * thread of its own throughout. */
	KT_ASSERT_EQ(domain_call(other, Hog_mix_METHOD, 20, 0, 0, 0), 20);
	KT_ASSERT_EQ(domain_call(other, Hog_worker_METHOD, 1, 0, 0, 0), 0);

	/* A limit above the machine's free memory: the machine runs out
	 * first, -MAPLE_ENOMEM, with the kernel reserve left untouched. */
	frame_get_stats(&fs);
	uint64_t refusals = fs.reserve_refusals;
	hog->limits.mem_pages = fs.managed * 2;
	KT_ASSERT_EQ(grow_until_refused(hog, GROW_BYTES), -MAPLE_ENOMEM);
	frame_get_stats(&fs);
	KT_ASSERT(fs.free >= fs.reserve);
	KT_ASSERT(fs.free < fs.reserve + GROW_BYTES / PAGE_SIZE + 3);
	KT_ASSERT(fs.reserve_refusals > refusals);
	KT_ASSERT(charge_exact(hog)); /* the failed map left nothing behind */
	KT_ASSERT_EQ(vm_leaf_flags(hog->heap_next), 0);
	KT_ASSERT_EQ(hog->state, DOMAIN_RUNNING);

	/* Take the crumbs the hog's regions were too big for, as any other
	 * domain could: now exactly the reserve is free. Meanwhile the
	 * bystander serves calls and allocates correctly from its own heap,
	 * is refused fresh memory with -MAPLE_ENOMEM, and the kernel still
	 * allocates from its reserve. */
	uint64_t crumbs = hold_frames(frame_alloc_domain);
	frame_get_stats(&fs);
	KT_ASSERT_EQ(fs.free, fs.reserve);
	long mixed = domain_call(other, Hog_mix_METHOD, 50, 0, 0, 0);
	long fresh = domain_call(other, Hog_grow_METHOD, 64 << 10, 1, 0, 0);
	void *k = kmalloc(PAGE_SIZE);
	kfree(k);
	release_until(crumbs, UINT64_MAX);
	KT_ASSERT_EQ(mixed, 50);
	KT_ASSERT_EQ(fresh, -MAPLE_ENOMEM);
	KT_ASSERT(k != NULL);
	KT_ASSERT(domain_call(hog, Hog_grown_METHOD, 0, 0, 0, 0) > 100);
	long rounds = domain_call(other, Hog_worker_METHOD, 0, 0, 0, 0);
	KT_ASSERT(rounds > 0);

	/* The hog goes, and its memory with it: the bystander grows again. */
	KT_ASSERT_EQ(ktest_destroy(hog), 0);
	KT_ASSERT_EQ(domain_call(other, Hog_grow_METHOD, 64 << 10, 1, 0, 0), 0);
	KT_ASSERT_EQ(other->state, DOMAIN_RUNNING);
	KT_ASSERT_EQ(ktest_destroy(other), 0);
}

/* Calls in these tests map and zero hundreds of MiB, or make and reap
 * threads, inside one call: under TCG on a loaded host that can take longer
 * than the default call budget (1 s), and a watchdog failure is not what
 * they are about. */
#define LIMITS_BUDGET_MS 20000

KTEST(chaos_memory_exhaustion)
{
	uint64_t old = watchdog_set_budget_ms(LIMITS_BUDGET_MS);
	ktest_run_counted(t, "kt-memory", memory_exhaustion, RUN_WAIT_NS);
	watchdog_set_budget_ms(old);
}

static int thread_count(void)
{
	static struct thread_info info[256];
	return sched_snapshot(info, 256);
}

/* Wait until d has no thread left and the kernel is back to `threads`. */
static bool settled(struct domain *d, int threads)
{
	uint64_t deadline = time_ns() + SETTLE_WAIT_NS;
	while (domain_threads(d) != 0 || thread_count() != threads)
		if (time_ns() > deadline)
			return false;
		else
			thread_sleep_ns(5000000);
	return true;
}

/* Not an error code: the domain's thread count was seen over its limit. */
#define OVER_LIMIT (-1000)

/* CHURN_THREADS threads made in batches; returns the -MAPLE_EAGAINs seen,
 * the first other refusal, or OVER_LIMIT. */
static long churn(struct domain *hog)
{
	long refused = 0;
	for (int made = 0; made < CHURN_THREADS; made += CHURN_BATCH) {
		long r = domain_call(hog, Hog_churn_METHOD, CHURN_BATCH, 0, 0, 0);
		if (r < 0)
			return r;
		if (domain_threads(hog) > hog->limits.threads)
			return OVER_LIMIT;
		refused += r;
	}
	return refused;
}

struct churn {
	struct domain *hog;
	long refused;
	uint32_t done;
};

static void churn_thread(void *p)
{
	struct churn *c = p;
	c->refused = churn(c->hog);
	__atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
}

static void thread_churn(struct ktest_ctx *t)
{
	struct domain *hog = ktest_create(t, "hog");
	if (!hog)
		return;
	int threads = thread_count();
	long limit = hog->limits.threads;
	KT_ASSERT_EQ(limit, DOMAIN_THREADS_DEFAULT);

	/* To the limit with threads that stay, then one past it. */
	KT_ASSERT_EQ(domain_call(hog, Hog_spawn_METHOD, limit, HOG_WAIT, 0, 0), limit);
	KT_ASSERT_EQ(domain_threads(hog), limit);
	KT_ASSERT_EQ(domain_call(hog, Hog_spawn_METHOD, 1, HOG_WAIT, 0, 0), -MAPLE_EAGAIN);
	KT_ASSERT_EQ(domain_call(hog, Hog_spawn_METHOD, 1, HOG_EXIT, 0, 0), -MAPLE_EAGAIN);
	KT_ASSERT_EQ(domain_threads(hog), limit);
	KT_ASSERT_EQ(hog->state, DOMAIN_RUNNING);
	uint64_t deadline = time_ns() + SETTLE_WAIT_NS;
	while (domain_call(hog, Hog_alive_METHOD, 0, 0, 0, 0) != limit && time_ns() < deadline)
		thread_sleep_ns(5000000);
	KT_ASSERT_EQ(domain_call(hog, Hog_alive_METHOD, 0, 0, 0, 0), limit);
	KT_ASSERT_EQ(domain_call(hog, Hog_release_METHOD, 0, 0, 0, 0), limit);
	KT_ASSERT(settled(hog, threads));

	/* Churn from two callers at once (both CPUs): threads that exit at
	 * once, made as fast as the limit lets the domain. Every refusal is
	 * exactly -MAPLE_EAGAIN (churn returns any other one), the count
	 * never passes the limit, and nothing is lost. */
	static struct churn second; /* static: outlives this frame if the wait times out */
	second = (struct churn){.hog = hog};
	KT_ASSERT(thread_create("kt-churn", churn_thread, &second) != NULL);
	long refused = churn(hog);
	uint64_t deadline2 = time_ns() + SETTLE_WAIT_NS * 3;
	while (!__atomic_load_n(&second.done, __ATOMIC_ACQUIRE) && time_ns() < deadline2)
		thread_sleep_ns(5000000);
	KT_ASSERT(second.done);
	KT_ASSERT(refused >= 0);
	KT_ASSERT(second.refused >= 0);
	KT_ASSERT(settled(hog, threads));
	klog("ktest: %d domain threads made by two callers, %ld refused with -MAPLE_EAGAIN",
	     2 * CHURN_THREADS, refused + second.refused);
	KT_ASSERT_EQ(hog->state, DOMAIN_RUNNING);
	KT_ASSERT_EQ(ktest_destroy(hog), 0);
}

KTEST(chaos_thread_churn)
{
	uint64_t old = watchdog_set_budget_ms(LIMITS_BUDGET_MS);
	ktest_run_counted(t, "kt-threads", thread_churn, RUN_WAIT_NS);
	watchdog_set_budget_ms(old);
}

/* A last-level address no domain uses (the last domain slot's first page):
 * mapping it needs at least a page directory and a page table. */
#define UNUSED_VA (MAPLE_DOMAIN_BASE + (uint64_t)(GATE_MAX_DOMAINS - 1) * MAPLE_DOMAIN_SLOT)

static void page_table_failure(struct ktest_ctx *t)
{
	KT_ASSERT_EQ(vm_leaf_flags(UNUSED_VA), 0);
	uint64_t page = frame_alloc();
	KT_ASSERT(page != 0);
	struct frame_stats before, fs;
	frame_get_stats(&before);
	uint64_t held = hold_frames(frame_alloc);

	/* One frame free, two tables needed: refused, and the table the walk
	 * could have had is not kept. */
	held = release_until(held, 1);
	KT_ASSERT_EQ(vm_map_page(UNUSED_VA, page, PTE_W | PTE_NX), VM_ENOMEM);
	frame_get_stats(&fs);
	KT_ASSERT_EQ(fs.free, 1);
	KT_ASSERT_EQ(vm_leaf_flags(UNUSED_VA), 0);

	/* For a domain, the reserve counts as taken: the same with a reserve
	 * and one frame free, whereas the kernel's own map may use it. */
	held = release_until(held, before.reserve + 1);
	uint64_t tables = 0;
	KT_ASSERT_EQ(vm_map_domain_page(UNUSED_VA, page, PTE_W | PTE_NX, &tables), VM_ENOMEM);
	KT_ASSERT_EQ(tables, 0);
	frame_get_stats(&fs);
	KT_ASSERT_EQ(fs.free, before.reserve + 1);
	KT_ASSERT_EQ(vm_leaf_flags(UNUSED_VA), 0);
	KT_ASSERT_EQ(vm_map_page(UNUSED_VA, page, PTE_W | PTE_NX), 0);
	KT_ASSERT(vm_leaf_flags(UNUSED_VA) & PTE_P);

	KT_ASSERT(unmap_region(UNUSED_VA, 1, false) >= 2); /* the tables, not the page */
	release_until(held, UINT64_MAX);
	KT_ASSERT_EQ(frame_free(page, 1), 0);
	frame_get_stats(&fs);
	KT_ASSERT_EQ(fs.free, before.free + 1);
}

KTEST(page_table_failure_unwinds_without_panic)
{
	ktest_run_counted(t, "kt-pt", page_table_failure, RUN_WAIT_NS);
}
