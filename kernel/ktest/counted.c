/* Test bodies run in their own thread, checked for leaks (ktest/counted.h). */
#include <arch/x86/layout.h>
#include <core/sched.h>
#include <core/time.h>
#include <domain/domain.h>
#include <ktest/counted.h>
#include <mm/frame.h>
#include <mm/kmalloc.h>
#include <mm/kstack.h>
#include <xheap/rref.h>

#define POLL_NS 5000000UL
/* How long the counts may take to settle after the body: its threads (and
 * the test thread) exit and are reaped, domains' last references drop.
 * Under TCG on a loaded host that is not bounded by any small constant, so
 * poll until they are back; a real leak never comes back and fails. */
#define SETTLE_NS 3000000000UL
/* Before the body, the counts must hold still this long: one quiet poll
 * was not enough, as a boot's last frees (seen: 256 bytes of heap) came
 * after it, inside the first test's window, and failed it. */
#define QUIET_POLLS 20
#define THREADS_MAX 256

struct snapshot {
	struct frame_stats frames;
	struct kmalloc_stats heap;
	struct rref_stats rrefs;
	uint64_t kstacks_cached;
};

struct counted_run {
	struct ktest_ctx *t;
	void (*body)(struct ktest_ctx *t);
	uint32_t done;
};

static void take(struct snapshot *s)
{
	s->kstacks_cached = kstack_cached();
	rref_get_stats(&s->rrefs);
	kmalloc_get_stats(&s->heap);
	frame_get_stats(&s->frames);
}

/* Frames free before minus after, less those the kernel heap, the
 * kernel-stack cache and the shared heap's chunks now keep: those are
 * theirs, not leaks. */
static long leaked_frames(const struct snapshot *before, const struct snapshot *after)
{
	long held = (long)(after->heap.frames - before->heap.frames) +
		    (long)(after->kstacks_cached - before->kstacks_cached) *
			    (long)(KSTACK_SIZE / FRAME_SIZE) +
		    (long)(after->rrefs.chunks - before->rrefs.chunks) *
			    (long)(SHARED_CHUNK / FRAME_SIZE);
	return (long)(before->frames.free - after->frames.free) - held;
}

static void counted_thread(void *p)
{
	struct counted_run *run = p;
	run->body(run->t);
	__atomic_store_n(&run->done, 1, __ATOMIC_RELEASE);
}

void ktest_run_counted(struct ktest_ctx *t, const char *name, void (*body)(struct ktest_ctx *t),
		       uint64_t wait_ns)
{
	struct snapshot before, after;
	/* The counts to come back to: once what earlier tests left exiting
	 * (threads being reaped, domains' last references) has settled, so it
	 * is not taken for this body's leak, or for a gain, when it goes. */
	uint64_t quiet = time_ns() + SETTLE_NS;
	take(&before);
	for (int still = 0; still < QUIET_POLLS && time_ns() < quiet;) {
		thread_sleep_ns(POLL_NS);
		take(&after);
		if (!leaked_frames(&before, &after) && after.rrefs.live == before.rrefs.live &&
		    after.heap.bytes_in_use == before.heap.bytes_in_use) {
			still++;
		} else {
			still = 0;
			before = after;
		}
	}
	static struct counted_run run; /* one test runs at a time */
	run = (struct counted_run){.t = t, .body = body};
	KT_ASSERT(thread_create(name, counted_thread, &run) != NULL);
	uint64_t deadline = time_ns() + wait_ns;
	while (!__atomic_load_n(&run.done, __ATOMIC_ACQUIRE) && time_ns() < deadline)
		thread_sleep_ns(POLL_NS);
	KT_ASSERT(run.done);
	if (t->failed)
		return;
	long leaked;
	uint64_t settle = time_ns() + SETTLE_NS;
	for (;;) {
		thread_sleep_ns(POLL_NS);
		take(&after);
		leaked = leaked_frames(&before, &after);
		if ((!leaked && after.rrefs.live == before.rrefs.live &&
		     after.heap.bytes_in_use == before.heap.bytes_in_use) ||
		    time_ns() > settle)
			break;
	}
	KT_ASSERT_EQ(after.rrefs.live, before.rrefs.live);
	KT_ASSERT_EQ(after.heap.bytes_in_use, before.heap.bytes_in_use);
	if (leaked)
		ktest_fail(t, __FILE__, __LINE__, "%ld frames leaked", leaked);
}

static void count_one(struct domain *d, void *arg)
{
	(void)d;
	++*(unsigned *)arg;
}

unsigned ktest_domains_alive(void)
{
	unsigned n = 0;
	domain_foreach(count_one, &n);
	return n;
}

int ktest_threads_alive(void)
{
	static struct thread_info seen[THREADS_MAX]; /* one test runs at a time */
	return sched_snapshot(seen, THREADS_MAX);
}

struct domain *ktest_create(struct ktest_ctx *t, const char *name)
{
	char err[128];
	struct domain *d = domain_create(name, err, sizeof err);
	if (!d)
		ktest_fail(t, __FILE__, __LINE__, "create %s: %s", name, err);
	return d;
}

int ktest_destroy_handle(uint64_t h)
{
	char err[96];
	return h ? domain_destroy(h, err, sizeof err) : 0;
}

int ktest_destroy(struct domain *d)
{
	return d ? ktest_destroy_handle(domain_handle(d)) : 0;
}
