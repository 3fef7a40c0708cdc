/*
 * rref_evil: attacks on the exchange heap's bookkeeping (evil.h). Every
 * case checks the exact result of each step and returns EV_PASSED or the
 * negative number of the first check that failed.
 */
#include <test/rrefs/evil.h>

#include <sdk/dom.h>
#include <sdk/rref.h>

#define CHECK(n, cond)                                                                             \
	do {                                                                                       \
		if (!(cond))                                                                       \
			return -(n);                                                               \
	} while (0)

#define KEEP_MAX 8

static rref_t kept[KEEP_MAX];
static int nkept;
static rref_t given; /* what alloc_plain handed out */

static uint32_t self_id(void)
{
	return (uint32_t)(maple_domain_id() & 0xffff);
}

static rref_t fresh(void)
{
	rref_t r = rref_alloc(EV_TYPE, 128);
	if (r)
		*(uint64_t *)rref_ptr(r) = EV_MAGIC;
	return r;
}

/* ---- the peer's side ---- */

static long take(rref_t r)
{
	if ((rref_info(r) & 0xffff) != self_id())
		return -10;
	return rref_free(r) == 0 ? 1 : -11;
}

static long keep(rref_t r)
{
	if (nkept == KEEP_MAX)
		return -20;
	kept[nkept++] = r;
	return 0;
}

static long alloc_plain(void)
{
	given = fresh();
	return given ? (long)given : -30;
}

static long check_mine(rref_t r)
{
	if (r != given || rref_info(r) != (long)self_id())
		return -40; /* owner us, no borrows */
	if (*(uint64_t *)rref_ptr(r) != EV_MAGIC)
		return -41;
	given = RREF_NULL;
	return rref_free(r) == 0 ? 1 : -42;
}

static long info(rref_t r)
{
	return rref_info(r);
}

static long peek_info(rref_t r, rref_t child, long lender)
{
	if (rref_info(r) != (lender | 1L << 16))
		return -50; /* the lender's, lent once */
	if ((rref_info(child) & 0xffff) != lender)
		return -51; /* nested in what we borrow: we may ask */
	return 1;
}

/* ---- the cases ---- */

/* Bottom-up: each chain so far goes under a new root, so the parent is
 * always at depth 0 and only the child's height grows. Top-down: each new
 * RRef goes under the deepest. Both stop after RREF_MAX_LEVELS - 1 nests. */
static long nest_chain(void)
{
	rref_t top = fresh();
	long n = 0, r = 0;
	while (n < EV_CHAIN) {
		rref_t up = fresh();
		CHECK(1, up);
		if ((r = rref_nest(top, up)) != 0) {
			CHECK(2, rref_free(up) == 0);
			break;
		}
		top = up;
		n++;
	}
	CHECK(3, n == RREF_MAX_LEVELS - 1);
	CHECK(4, r == -MAPLE_EDEPTH);
	CHECK(5, rref_free(top) == 0);

	rref_t root = fresh(), deepest = root;
	for (n = 0; n < EV_CHAIN; n++) {
		rref_t down = fresh();
		CHECK(6, down);
		if ((r = rref_nest(down, deepest)) != 0) {
			CHECK(7, rref_free(down) == 0);
			break;
		}
		deepest = down;
	}
	CHECK(8, n == RREF_MAX_LEVELS - 1);
	CHECK(9, r == -MAPLE_EDEPTH);
	CHECK(10, rref_free(deepest) == -MAPLE_EPERM); /* nested: not ours to free alone */
	CHECK(11, rref_free(root) == 0);
	CHECK(12, rref_info(deepest) == -MAPLE_EINVAL); /* gone with its root */
	return EV_PASSED;
}

/* A chain of `levels` RRefs, nodes[d] at depth d; returns whether it
 * was built. */
static bool chain(int levels, rref_t *nodes)
{
	for (int d = 0; d < levels; d++)
		if (!(nodes[d] = fresh()) || (d && rref_nest(nodes[d], nodes[d - 1]) != 0))
			return false;
	return true;
}

/* Trees A and B of 9 levels each (height 8): B may hang below A's node at
 * depth 6 (6 + 1 + 8 = 15 edges, 16 levels) but not at depth 7; then no
 * leaf fits below B's end. Taken out again, A is 9 levels once more and
 * fits below depth 6 of a third tree. */
static long nest_whole(void)
{
	rref_t a[9], b[9], c[7];
	CHECK(1, chain(9, a) && chain(9, b) && chain(7, c));
	CHECK(2, rref_nest(b[0], a[7]) == -MAPLE_EDEPTH);
	CHECK(3, rref_nest(b[0], a[6]) == 0);
	rref_t leaf = fresh();
	CHECK(4, leaf && rref_nest(leaf, b[8]) == -MAPLE_EDEPTH);
	CHECK(5, rref_nest(a[0], c[6]) == -MAPLE_EDEPTH); /* 6 + 1 + 15 */
	CHECK(6, rref_unnest(b[0]) == 0);
	CHECK(7, rref_nest(a[0], c[6]) == 0); /* 6 + 1 + 8: A's height came down */
	CHECK(8, rref_free(c[0]) == 0 && rref_free(b[0]) == 0 && rref_free(leaf) == 0);
	CHECK(9, rref_info(a[8]) == -MAPLE_EINVAL); /* freed with c */
	return EV_PASSED;
}

/* A chain built bottom-up for as long as nesting allows (at most `nests`)
 * and a root with `leaves` children, each with one child: all kept. */
static long keep_trees(long nests, long leaves)
{
	rref_t top = fresh();
	CHECK(1, top);
	for (long n = 0; n < nests; n++) {
		rref_t up = fresh();
		CHECK(2, up);
		if (rref_nest(top, up) != 0) {
			CHECK(3, rref_free(up) == 0);
			break;
		}
		top = up;
	}
	rref_t wide = fresh();
	CHECK(4, wide);
	for (long i = 0; i < leaves; i++) {
		rref_t leaf = fresh(), below = fresh();
		CHECK(5, leaf && below);
		CHECK(6, rref_nest(below, leaf) == 0 && rref_nest(leaf, wide) == 0);
	}
	return EV_PASSED;
}

static long stale(uint64_t peer)
{
	/* In this domain: the slot and (before generations) the header come
	 * straight back to the next allocation. */
	rref_t old = fresh();
	CHECK(1, old && rref_free(old) == 0);
	rref_t now = fresh();
	CHECK(2, now && now != old);
	CHECK(3, rref_free(old) == -MAPLE_EINVAL);
	CHECK(4, rref_info(old) == -MAPLE_EINVAL);
	CHECK(5, rref_nest(old, now) == -MAPLE_EINVAL);
	CHECK(6, rref_info(now) == (long)self_id());
	CHECK(7, rref_free(now) == 0);

	/* Across domains: the peer allocates right after our free. */
	old = fresh();
	CHECK(8, old && rref_free(old) == 0);
	long theirs = maple_xcall(peer, RrefEvil_alloc_plain_WORD, 0, 0, 0, 0);
	CHECK(9, theirs > 0 && (rref_t)theirs != old);
	CHECK(10, rref_free(old) == -MAPLE_EINVAL);
	CHECK(11, rref_info(old) == -MAPLE_EINVAL);
	CHECK(12, maple_xcall(peer, RrefEvil_take_WORD, (long)old, 0, 0, 0) == -MAPLE_EPERM);
	CHECK(13, maple_xcall(peer, RrefEvil_info_WORD, (long)old, 0, 0, 0) == -MAPLE_EPERM);
	CHECK(14, maple_xcall(peer, RrefEvil_check_mine_WORD, theirs, 0, 0, 0) == 1);
	return EV_PASSED;
}

static long info_perm(uint64_t peer)
{
	rref_t r = fresh();
	CHECK(1, r && maple_xcall(peer, RrefEvil_keep_WORD, (long)r, 0, 0, 0) == 0);
	CHECK(2, rref_info(r) == -MAPLE_EPERM); /* the peer's now */
	long theirs = maple_xcall(peer, RrefEvil_alloc_plain_WORD, 0, 0, 0, 0);
	CHECK(3, theirs > 0 && rref_info((rref_t)theirs) == -MAPLE_EPERM);
	CHECK(4, rref_bus((rref_t)theirs, 0) == -MAPLE_EPERM);
	CHECK(5, maple_xcall(peer, RrefEvil_check_mine_WORD, theirs, 0, 0, 0) == 1);
	/* Lent: the peer may ask about it and what is nested in it, during
	 * the call only. */
	rref_t box = fresh(), child = fresh();
	CHECK(6, box && child && rref_nest(child, box) == 0);
	CHECK(7, maple_xcall(peer, RrefEvil_peek_info_WORD, (long)box, (long)child, (long)self_id(),
			     0) == 1);
	/* Not lent (the method number without info's borrow bit): a handle
	 * passed as a plain number gives the peer no right to ask. */
	CHECK(8, maple_xcall(peer, RrefEvil_info_METHOD, (long)box, 0, 0, 0) == -MAPLE_EPERM);
	CHECK(9, maple_xcall(peer, RrefEvil_info_METHOD, (long)child, 0, 0, 0) == -MAPLE_EPERM);
	CHECK(10, rref_info(child) == (long)self_id());
	CHECK(11, rref_free(box) == 0);
	return EV_PASSED;
}

static long quota(long headers, long bytes)
{
	rref_t *all = malloc(sizeof(rref_t) * (uint64_t)(headers + 1));
	CHECK(1, all);
	long n = 0, r = 0;
	while (n <= headers && (r = rref_try_alloc(EV_TYPE, 64)) > 0)
		all[n++] = (rref_t)r;
	CHECK(2, n == headers);
	CHECK(3, r == -MAPLE_EQUOTA);
	/* Still running, and one free makes room for one more. */
	CHECK(4, rref_free(all[0]) == 0);
	CHECK(5, (r = rref_try_alloc(EV_TYPE, 64)) > 0);
	all[0] = (rref_t)r;
	CHECK(6, rref_try_alloc(EV_TYPE, 64) == -MAPLE_EQUOTA);
	for (long i = 0; i < n; i++)
		CHECK(7, rref_free(all[i]) == 0);
	/* Bytes: 1 MiB objects, each charged its size class. */
	long big = bytes >> 20;
	n = 0;
	while (n <= big && (r = rref_try_alloc(EV_TYPE, 1 << 20)) > 0)
		all[n++] = (rref_t)r;
	CHECK(8, n == big);
	CHECK(9, r == -MAPLE_EQUOTA);
	for (long i = 0; i < n; i++)
		CHECK(10, rref_free(all[i]) == 0);
	free(all);
	CHECK(11, rref_try_alloc(EV_TYPE, 0) == -MAPLE_EINVAL);
	return EV_PASSED;
}

/* ---- free versus move: two threads of this domain ---- */

static struct {
	uint64_t peer;
	long rounds, max_ns;
	rref_t r;
	long round, done, stop, exited;
	long freed, again_info, again_freed;
	long result; /* the driver's verdict; 0 while it runs */
} race;

/* Wait for cond, yielding now and then in case both threads share a CPU. */
#define WAIT_FOR(cond)                                                                             \
	for (int spins_ = 0; !(cond); spins_++)                                                    \
		if (spins_ % 256 == 255)                                                           \
			maple_yield();

static void racer(void *arg)
{
	(void)arg;
	long seen = 0;
	while (!__atomic_load_n(&race.stop, __ATOMIC_ACQUIRE)) {
		long round;
		WAIT_FOR((round = __atomic_load_n(&race.round, __ATOMIC_ACQUIRE)) != seen ||
			 __atomic_load_n(&race.stop, __ATOMIC_ACQUIRE));
		if (round == seen)
			break;
		seen = round;
		/* A different delay each round sweeps the free across the
		 * other thread's call, from before the gate to after it. */
		for (long k = (round * 37) % 256; k > 0; k--)
			__asm__ volatile("pause");
		race.freed = rref_free(race.r);
		/* Before generations this was the same handle again. */
		rref_t again = fresh();
		race.again_info = again ? rref_info(again) : -1;
		race.again_freed = again ? rref_free(again) : -1;
		__atomic_store_n(&race.done, round, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&race.exited, 1, __ATOMIC_RELEASE);
}

/* Whether one round's outcome is one that some order of the two threads'
 * steps gives. Moved: the free finds the peer's RRef, or nothing once the
 * peer freed it. Lent: the peer saw it ours and lent once, and the free
 * came during the loan (refused; the RRef is still ours) or after it. Either
 * way refused by the gate: the free came first. */
static bool consistent(bool lend, long m, long freed, long lent_info)
{
	if (m == -MAPLE_EPERM)
		return freed == 0;
	if (!lend)
		return m == 1 && (freed == -MAPLE_EPERM || freed == -MAPLE_EINVAL);
	return m == lent_info && (freed == -MAPLE_EPERM || freed == 0);
}

/* Odd rounds move the RRef to the peer, even rounds lend it. */
static long drive(uint64_t peer, long rounds, long max_ns)
{
	long lent_info = (long)self_id() | 1L << 16;
	long won = 0, freed = 0, bad = 0;
	uint64_t end = maple_clock_ns() + (uint64_t)max_ns;
	long round;
	for (round = 1; round <= rounds && maple_clock_ns() < end && !bad; round++) {
		bool lend = round % 2 == 0;
		rref_t r = fresh();
		CHECK(2, r);
		race.r = r;
		__atomic_store_n(&race.round, round, __ATOMIC_RELEASE);
		long m = lend ? maple_xcall(peer, RrefEvil_info_WORD, (long)r, 0, 0, 0)
			      : maple_xcall(peer, RrefEvil_take_WORD, (long)r, 0, 0, 0);
		WAIT_FOR(__atomic_load_n(&race.done, __ATOMIC_ACQUIRE) == round);
		if (!consistent(lend, m, race.freed, lent_info))
			bad = lend ? -7 : -6;
		else if (m == -MAPLE_EPERM)
			freed++;
		else
			won++;
		/* The reallocation is ours alone, and not lent to anyone. */
		if (race.again_info != (long)self_id() || race.again_freed != 0)
			bad = bad ? bad : -3;
		if (lend && m == lent_info && race.freed == -MAPLE_EPERM && rref_free(r) != 0)
			bad = bad ? bad : -8;
	}
	__atomic_store_n(&race.stop, 1, __ATOMIC_RELEASE);
	WAIT_FOR(__atomic_load_n(&race.exited, __ATOMIC_ACQUIRE));
	dom_printf("rref_evil: free versus move and lend: %ld rounds, %ld moved or lent first, "
		   "%ld freed first",
		   round - 1, won, freed);
	if (bad)
		return bad;
	CHECK(4, round > 1);
	return EV_PASSED;
}

static void driver(void *arg)
{
	(void)arg;
	long r = drive(race.peer, race.rounds, race.max_ns);
	__atomic_store_n(&race.result, r, __ATOMIC_RELEASE);
}

/* Both sides run in threads of their own, so a host that stalls one of
 * the guest's CPUs slows the race down but cannot make a kernel call into
 * this domain outlive its watchdog; the kernel asks race_result. */
static long free_vs_move(uint64_t peer, long rounds, long max_ns)
{
	if (__atomic_load_n(&race.round, __ATOMIC_ACQUIRE) && !race.result)
		return -1; /* one race at a time */
	race = (typeof(race)){.peer = peer, .rounds = rounds, .max_ns = max_ns};
	CHECK(2, maple_thread_create(racer, 0) >= 0);
	if (maple_thread_create(driver, 0) < 0) {
		__atomic_store_n(&race.stop, 1, __ATOMIC_RELEASE);
		return -3;
	}
	return 0;
}

static long race_result(void)
{
	return __atomic_load_n(&race.result, __ATOMIC_ACQUIRE);
}

static long recall_lend(uint64_t peer, long plain)
{
	rref_t r = fresh();
	CHECK(140, r);
	CHECK(141, plain == 1 || rref_recall(r) == 0);
	CHECK(142, maple_xcall(peer, RrefEvil_keep_WORD, (long)r, 0, 0, 0) == 0);
	return (long)r;
}

static long run(long which, long peer, long a, long b)
{
	switch (which) {
	case EV_NEST_CHAIN:
		return nest_chain();
	case EV_NEST_WHOLE:
		return nest_whole();
	case EV_KEEP_TREES:
		return keep_trees(a, b);
	case EV_STALE:
		return stale((uint64_t)peer);
	case EV_INFO_PERM:
		return info_perm((uint64_t)peer);
	case EV_QUOTA:
		return quota(a, b);
	case EV_FREE_VS_MOVE:
		return free_vs_move((uint64_t)peer, a, b);
	case EV_RECALL_LEND:
		return recall_lend((uint64_t)peer, a);
	}
	return -MAPLE_EINVAL;
}

long domain_main(long arg)
{
	(void)arg;
	const uint64_t methods[] = {
		[RrefEvil_run_METHOD] = MAPLE_METHOD(run),
		[RrefEvil_take_METHOD] = MAPLE_METHOD(take),
		[RrefEvil_keep_METHOD] = MAPLE_METHOD(keep),
		[RrefEvil_alloc_plain_METHOD] = MAPLE_METHOD(alloc_plain),
		[RrefEvil_check_mine_METHOD] = MAPLE_METHOD(check_mine),
		[RrefEvil_info_METHOD] = MAPLE_METHOD(info),
		[RrefEvil_peek_info_METHOD] = MAPLE_METHOD(peek_info),
		[RrefEvil_race_result_METHOD] = MAPLE_METHOD(race_result),
	};
	_Static_assert(DOM_ARRAY_LEN(methods) == RrefEvil_METHODS,
		       "RrefEvil: every method exported");
	return maple_export(methods, DOM_ARRAY_LEN(methods));
}
