/*
 * victim: a domain whose memory other domains try to reach (victim.h).
 * Three copies of the secret live in the three kinds of private memory a
 * domain has: its data segment, its heap, and a thread's stack.
 */
#include <test/victim/victim.h>

#include <sdk/dom.h>

static uint64_t data_secret[VICTIM_WORDS] = {[0 ... VICTIM_WORDS - 1] = VICTIM_SECRET};
static uint64_t *heap_secret;
static uint64_t *stack_secret; /* published by keeper() once filled */

static void fill(uint64_t *words)
{
	for (unsigned i = 0; i < VICTIM_WORDS; i++)
		words[i] = VICTIM_SECRET;
}

/* Volatile reads: another domain may have written the words behind the
 * compiler's back, which is exactly what this looks for. */
static bool intact(const volatile uint64_t *words)
{
	for (unsigned i = 0; i < VICTIM_WORDS; i++)
		if (words[i] != VICTIM_SECRET)
			return false;
	return true;
}

/* Keeps the stack copy alive: fills a buffer in its own frame, publishes
 * it and never returns. */
static void keeper(void *arg)
{
	(void)arg;
	uint64_t words[VICTIM_WORDS];
	fill(words);
	__atomic_store_n(&stack_secret, words, __ATOMIC_RELEASE);
	for (;;)
		maple_sleep_ns(1000000000);
}

/* The stack copy, once the keeper thread has run. */
static uint64_t *stack_words(void)
{
	uint64_t *words;
	while (!(words = __atomic_load_n(&stack_secret, __ATOMIC_ACQUIRE)))
		maple_yield();
	return words;
}

static long heap_addr(void)
{
	return (long)heap_secret;
}

static long data_addr(void)
{
	return (long)data_secret;
}

static long check(void)
{
	return intact(data_secret) && intact(heap_secret) && intact(stack_words());
}

static long stack_addr(void)
{
	return (long)stack_words();
}

long domain_main(long arg)
{
	(void)arg;
	const uint64_t methods[] = {
		[Victim_heap_addr_METHOD] = MAPLE_METHOD(heap_addr),
		[Victim_data_addr_METHOD] = MAPLE_METHOD(data_addr),
		[Victim_check_METHOD] = MAPLE_METHOD(check),
		[Victim_stack_addr_METHOD] = MAPLE_METHOD(stack_addr),
	};
	heap_secret = malloc(VICTIM_WORDS * sizeof(uint64_t));
	if (!heap_secret)
		return -MAPLE_ENOMEM;
	fill(heap_secret);
	long tid = maple_thread_create(keeper, NULL);
	if (tid < 0)
		return tid;
	/* Indexed by the numbers idlc generated: a method missing here fails the build. */
	_Static_assert(DOM_ARRAY_LEN(methods) == Victim_METHODS, "Victim: every method exported");
	return maple_export(methods, DOM_ARRAY_LEN(methods));
}
