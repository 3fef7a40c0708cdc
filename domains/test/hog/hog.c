/*
 * hog: takes memory and threads on request (hog.h), so the limit tests can
 * drive a domain to each of its limits and past them, and check that it
 * is refused with the exact error and runs on. A second instance serves
 * as the bystander that keeps allocating from its own heap meanwhile.
 */
#include <test/hog/hog.h>

#include <sdk/dom.h>

#define MIX_BLOCKS 8
#define MIX_ARENA  (1UL << 20) /* heap taken at start: room for two mixers */

static long grown_regions;
static long waiting;	       /* HOG_WAIT threads running */
static volatile long released; /* set by release(): HOG_WAIT threads end */
static volatile long stop_worker;
static long worker_result;
static volatile long worker_done;

static long grow(long bytes, long times)
{
	for (long i = 0; i < times; i++) {
		long va = maple_heap_grow((uint64_t)bytes);
		if (va < 0)
			return va;
		*(volatile uint64_t *)va = (uint64_t)va; /* the region is really ours */
		__atomic_add_fetch(&grown_regions, 1, __ATOMIC_RELAXED);
	}
	return 0;
}

static long grown(void)
{
	return __atomic_load_n(&grown_regions, __ATOMIC_RELAXED);
}

static void wait_thread(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&waiting, 1, __ATOMIC_RELAXED);
	while (!released)
		maple_sleep_ns(1000000);
	__atomic_sub_fetch(&waiting, 1, __ATOMIC_RELAXED);
}

static void exit_thread(void *arg)
{
	(void)arg;
}

static long spawn(long n, long mode)
{
	if (mode == HOG_WAIT)
		released = 0;
	for (long i = 0; i < n; i++) {
		long r = maple_thread_create(mode == HOG_WAIT ? wait_thread : exit_thread, NULL);
		if (r < 0)
			return r;
	}
	return n;
}

static long churn(long n)
{
	long refused = 0;
	for (long i = 0; i < n;) {
		long r = maple_thread_create(exit_thread, NULL);
		if (r == -MAPLE_EAGAIN) {
			refused++;
			maple_yield();
			continue;
		}
		if (r < 0)
			return r;
		i++;
	}
	return refused;
}

static long release(void)
{
	released = 1;
	return __atomic_load_n(&waiting, __ATOMIC_RELAXED);
}

static long alive(void)
{
	return __atomic_load_n(&waiting, __ATOMIC_RELAXED);
}

/* Each block is filled with a pattern of its own and checked before it is
 * freed: another domain's exhaustion must not touch this heap. */
static long mix(long rounds)
{
	uint64_t *blocks[MIX_BLOCKS];
	size_t words[MIX_BLOCKS];
	for (long r = 0; r < rounds; r++) {
		for (int b = 0; b < MIX_BLOCKS; b++) {
			words[b] = 16 + (size_t)((r * 7 + b * 131) % 2000);
			blocks[b] = malloc(words[b] * sizeof(uint64_t));
			if (!blocks[b])
				return -1;
			for (size_t w = 0; w < words[b]; w++)
				blocks[b][w] = ((uint64_t)r << 32) ^ ((uint64_t)b << 24) ^ w;
		}
		for (int b = 0; b < MIX_BLOCKS; b++) {
			for (size_t w = 0; w < words[b]; w++)
				if (blocks[b][w] != (((uint64_t)r << 32) ^ ((uint64_t)b << 24) ^ w))
					return -1;
			free(blocks[b]);
		}
	}
	return rounds;
}

static void worker_thread(void *arg)
{
	(void)arg;
	long rounds = 0;
	while (!stop_worker) {
		if (mix(1) != 1) {
			rounds = -1;
			break;
		}
		rounds++;
	}
	worker_result = rounds;
	worker_done = 1;
}

static long worker(long start)
{
	if (start) {
		stop_worker = 0;
		worker_done = 0;
		long r = maple_thread_create(worker_thread, NULL);
		return r < 0 ? r : 0;
	}
	stop_worker = 1;
	while (!worker_done)
		maple_sleep_ns(1000000);
	return worker_result;
}

long domain_main(long arg)
{
	(void)arg;
	const uint64_t methods[] = {
		[Hog_grow_METHOD] = MAPLE_METHOD(grow),
		[Hog_grown_METHOD] = MAPLE_METHOD(grown),
		[Hog_spawn_METHOD] = MAPLE_METHOD(spawn),
		[Hog_churn_METHOD] = MAPLE_METHOD(churn),
		[Hog_release_METHOD] = MAPLE_METHOD(release),
		[Hog_alive_METHOD] = MAPLE_METHOD(alive),
		[Hog_mix_METHOD] = MAPLE_METHOD(mix),
		[Hog_worker_METHOD] = MAPLE_METHOD(worker),
	};
	/* The arena mix works in, grown now: while another domain has
	 * exhausted the machine, this one allocates from what it has. */
	void *arena = malloc(MIX_ARENA);
	if (!arena)
		return -MAPLE_ENOMEM;
	free(arena);
	/* Indexed by the numbers idlc generated: a method missing here fails the build. */
	_Static_assert(DOM_ARRAY_LEN(methods) == Hog_METHODS, "Hog: every method exported");
	return maple_export(methods, DOM_ARRAY_LEN(methods));
}
