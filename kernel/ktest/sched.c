/*
 * In-guest tests of kernel threads and the scheduler. Waits are bounded:
 * a test that would hang fails after WAIT_LIMIT_NS instead.
 */
#include <arch/x86/percpu.h>
#include <core/sched.h>
#include <core/time.h>
#include <ktest/ktest.h>
#include <lib/string.h>
#include <mm/kmalloc.h>
#include <mm/kstack.h>
#include <stddef.h>

#define WAIT_LIMIT_NS 5000000000ULL /* generous: TCG on a loaded host is slow */
#define WORKERS	      6

struct counter {
	uint32_t done;
	uint32_t cpu_mask;
	uint32_t started;
	uint32_t release;
};

/* Wait until *word reaches want, sleeping between looks; false on timeout. */
static bool wait_for(uint32_t *word, uint32_t want)
{
	uint64_t deadline = time_ns() + WAIT_LIMIT_NS;
	while (__atomic_load_n(word, __ATOMIC_ACQUIRE) < want)
		if (time_ns() > deadline)
			return false;
		else
			thread_sleep_ns(1000000);
	return true;
}

static void count_and_exit(void *arg)
{
	struct counter *c = arg;
	for (int i = 0; i < 3; i++) {
		__atomic_or_fetch(&c->cpu_mask, 1u << this_cpu()->id, __ATOMIC_RELAXED);
		thread_yield();
	}
	__atomic_add_fetch(&c->done, 1, __ATOMIC_RELEASE);
}

#define REAPED_NAME "kt-reaped"
#define THREADS_MAX 256

/* Threads that exist now, and how many of them are called name. */
static int threads_alive(const char *name, int *named)
{
	static struct thread_info seen[THREADS_MAX]; /* one test runs at a time */
	int n = sched_snapshot(seen, THREADS_MAX);
	*named = 0;
	for (int i = 0; i < n; i++)
		*named += !strcmp(seen[i].name, name);
	return n;
}

/*
 * Threads run, exit, and are reaped: once they are gone from the thread
 * list, the number of threads, of kernel stacks in use and of kernel heap
 * bytes in use (their structs) are back where they were. `done` counts the
 * workers' last statement, so each still has to switch away and be reaped:
 * poll (bounded) for that.
 */
KTEST(threads_run_and_exit)
{
	static struct counter c;
	c = (struct counter){0};
	int named;
	int threads_before = threads_alive(REAPED_NAME, &named);
	KT_ASSERT_EQ(named, 0);
	KT_ASSERT(threads_before < THREADS_MAX);
	uint64_t stacks_before = kstack_in_use();
	struct kmalloc_stats heap_before, heap_after;
	kmalloc_get_stats(&heap_before);
	for (int i = 0; i < WORKERS; i++)
		KT_ASSERT(thread_create(REAPED_NAME, count_and_exit, &c) != NULL);
	KT_ASSERT(wait_for(&c.done, WORKERS));
	uint64_t deadline = time_ns() + WAIT_LIMIT_NS;
	int threads_after;
	while (((threads_after = threads_alive(REAPED_NAME, &named)) != threads_before || named ||
		kstack_in_use() != stacks_before) &&
	       time_ns() < deadline)
		thread_sleep_ns(1000000);
	kmalloc_get_stats(&heap_after);
	KT_ASSERT_EQ(named, 0);
	KT_ASSERT_EQ(threads_after, threads_before);
	KT_ASSERT_EQ(kstack_in_use(), stacks_before);
	KT_ASSERT_EQ(heap_after.bytes_in_use, heap_before.bytes_in_use);
}

KTEST(sleep_lasts_at_least_as_asked)
{
	uint64_t t0 = time_ns();
	thread_sleep_ns(20000000);
	KT_ASSERT(time_ns() - t0 >= 20000000);
}

/* Spins without yielding until every spinner has started: only preemption
 * (or enough CPUs) lets them all start. */
static void spin_until_released(void *arg)
{
	struct counter *c = arg;
	__atomic_add_fetch(&c->started, 1, __ATOMIC_RELEASE);
	uint64_t deadline = time_ns() + WAIT_LIMIT_NS;
	while (!__atomic_load_n(&c->release, __ATOMIC_ACQUIRE) && time_ns() < deadline)
		__asm__ volatile("pause");
	__atomic_add_fetch(&c->done, 1, __ATOMIC_RELEASE);
}

KTEST(preemption_lets_more_spinners_than_cpus_run)
{
	static struct counter c;
	c = (struct counter){0};
	uint32_t spinners = ncpus_online + 2;
	for (uint32_t i = 0; i < spinners; i++)
		KT_ASSERT(thread_create("kt-spin", spin_until_released, &c) != NULL);
	bool all_started = wait_for(&c.started, spinners);
	__atomic_store_n(&c.release, 1, __ATOMIC_RELEASE);
	KT_ASSERT(wait_for(&c.done, spinners));
	KT_ASSERT(all_started);
}

KTEST(threads_run_on_every_cpu)
{
	static struct counter c;
	c = (struct counter){0};
	uint32_t want = (1u << ncpus_online) - 1;
	uint64_t deadline = time_ns() + WAIT_LIMIT_NS;
	uint32_t rounds = 0;
	while ((__atomic_load_n(&c.cpu_mask, __ATOMIC_ACQUIRE) & want) != want &&
	       time_ns() < deadline) {
		c.done = 0;
		for (int i = 0; i < WORKERS; i++)
			KT_ASSERT(thread_create("kt-cpu", count_and_exit, &c) != NULL);
		KT_ASSERT(wait_for(&c.done, WORKERS));
		rounds++;
	}
	if ((c.cpu_mask & want) != want)
		ktest_fail(t, __FILE__, __LINE__,
			   "threads ran on cpu mask %#x, want %#x after %u rounds", c.cpu_mask,
			   want, rounds);
}

struct flag_wait {
	struct waitq wq;
	uint32_t flag;
	uint32_t woke;
};

static bool flag_set(void *arg)
{
	return __atomic_load_n(&((struct flag_wait *)arg)->flag, __ATOMIC_ACQUIRE);
}

static void waiter(void *arg)
{
	struct flag_wait *w = arg;
	waitq_wait(&w->wq, flag_set, w);
	__atomic_store_n(&w->woke, 1, __ATOMIC_RELEASE);
}

KTEST(waitq_wakes_blocked_thread)
{
	static struct flag_wait w;
	w = (struct flag_wait){0};
	KT_ASSERT(thread_create("kt-waiter", waiter, &w) != NULL);
	thread_sleep_ns(10000000);
	KT_ASSERT_EQ(__atomic_load_n(&w.woke, __ATOMIC_ACQUIRE), 0); /* still blocked */
	__atomic_store_n(&w.flag, 1, __ATOMIC_RELEASE);
	waitq_wake_all(&w.wq);
	KT_ASSERT(wait_for(&w.woke, 1));
}
