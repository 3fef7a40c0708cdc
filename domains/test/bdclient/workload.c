/*
 * bdclient's workloads. Write-then-verify: every write carries a pattern
 * that encodes (block, generation); a write counts as acknowledged only
 * when submit() returned with its status 0, and every read is compared with
 * the pattern of the block's last acknowledged generation, so a write the
 * driver acknowledged and then lost (or put in the wrong place) shows up as
 * a wrong block. A batch never names a block twice: re-running a whole
 * batch (a shadow's retry after a crash) then gives the same results.
 */
#include <test/bdclient/workload.h>

#define STATUS_UNSET 1 /* the driver must overwrite it */
#define WORDS	     (BDC_BLOCK_SIZE / 8)
#define LOG_MAX	     8 /* log lines per kind and workload */

struct slot {
	uint32_t block;
	uint32_t op;
	uint32_t gen; /* a write's generation */
};

static struct slot slots[BDC_BATCH];
static uint32_t logged_errors, logged_lost;

static void add(struct bdc *c, int which, uint64_t n)
{
	__atomic_add_fetch(&c->stat[which], n, __ATOMIC_RELAXED);
}

static void set(struct bdc *c, int which, uint64_t v)
{
	__atomic_store_n(&c->stat[which], v, __ATOMIC_RELAXED);
}

static uint64_t xorshift(struct bdc *c)
{
	uint64_t x = c->rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return c->rng = x;
}

/* Word i of block's contents at generation gen is pattern_base(...) + i. */
static uint64_t pattern_base(const struct bdc *c, uint32_t block, uint32_t gen)
{
	uint64_t x = c->salt ^ ((uint64_t)block << 32) ^ gen;
	x *= 0x9e3779b97f4a7c15ULL;
	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	return x ^ (x >> 29);
}

static void pattern_fill(const struct bdc *c, uint8_t *data, uint32_t block, uint32_t gen)
{
	uint64_t *w = (uint64_t *)data, base = pattern_base(c, block, gen);
	for (uint32_t i = 0; i < WORDS; i++)
		w[i] = base + i;
}

static bool pattern_ok(const struct bdc *c, const uint8_t *data, uint32_t block, uint32_t gen)
{
	const uint64_t *w = (const uint64_t *)data;
	uint64_t base = pattern_base(c, block, gen);
	for (uint32_t i = 0; i < WORDS; i++)
		if (w[i] != base + i)
			return false;
	return true;
}

static void error(struct bdc *c, long code)
{
	add(c, BDC_ERRORS, 1);
	set(c, BDC_LAST_ERROR, (uint64_t)code);
	if (logged_errors++ < LOG_MAX)
		dom_printf("bdclient: a submit did not succeed: %ld", code);
}

/* Make the deque hold exactly n requests, moving them to and from spare. */
static long set_len(struct bdc *c, uint32_t n)
{
	uint32_t len = BlockReq_deque32_len(c->queue);
	for (; len > n; len--) {
		rref_t r = BlockReq_deque32_pop(c->queue);
		if (!r)
			return -MAPLE_EPERM;
		c->spare[c->nspare++] = r;
	}
	for (; len < n; len++) {
		long e = BlockReq_deque32_push(c->queue, c->spare[c->nspare - 1]);
		if (e < 0)
			return e;
		c->nspare--;
	}
	return 0;
}

static struct BlockReq *req_at(struct bdc *c, uint32_t i)
{
	return BlockReq_ptr(BlockReq_deque32_get(c->queue, i));
}

/* Lend the deque to submit(), timing the call. */
static long timed_submit(struct bdc *c)
{
	uint64_t t0 = maple_clock_ns();
	long r = BlockDevice_submit(&c->dev, c->queue);
	uint64_t us = (maple_clock_ns() - t0) / 1000;
	add(c, BDC_SUBMITS, 1);
	if (us > c->stat[BDC_MAX_SUBMIT])
		set(c, BDC_MAX_SUBMIT, us);
	return r;
}

static void verify(struct bdc *c, const struct BlockReq *req, uint32_t block)
{
	uint32_t gen = c->gen[block];
	if (gen == GEN_UNKNOWN) {
		add(c, BDC_UNVERIFIED, 1);
	} else if (pattern_ok(c, req->data, block, gen)) {
		add(c, BDC_VERIFIED, 1);
	} else {
		add(c, BDC_LOST, 1);
		if (logged_lost++ < LOG_MAX)
			dom_printf("bdclient: block %u reads wrong: its acknowledged generation %u "
				   "starts %#lx, the block %#lx",
				   block, gen, pattern_base(c, block, gen),
				   *(const uint64_t *)req->data);
	}
}

/* Fill the deque from slots[0..n), submit it, and account for every request. */
static void submit_checked(struct bdc *c, uint32_t n)
{
	long r = set_len(c, n);
	for (uint32_t i = 0; i < n && r >= 0; i++) {
		struct slot *s = &slots[i];
		struct BlockReq *req = req_at(c, i);
		req->block = s->block;
		req->op = s->op;
		req->nblocks = 0; /* one block, in data: whatever a wild driver left there */
		req->offset = 0;
		req->status = STATUS_UNSET;
		if (s->op == BDC_OP_WRITE) {
			s->gen = c->next_gen++;
			pattern_fill(c, req->data, s->block, s->gen);
		} else {
			/* Whatever the buffer held, it must not pass for the block. */
			*(uint64_t *)req->data = pattern_base(c, s->block, c->gen[s->block]) ^ 1;
		}
	}
	if (r >= 0)
		r = timed_submit(c);
	if (r < 0) {
		error(c, r);
		for (uint32_t i = 0; i < n; i++)
			if (slots[i].op == BDC_OP_WRITE)
				c->gen[slots[i].block] = GEN_UNKNOWN;
		return;
	}
	long ok = 0, bad = 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct slot *s = &slots[i];
		struct BlockReq *req = req_at(c, i);
		int32_t status = __atomic_load_n(&req->status, __ATOMIC_RELAXED);
		if (status != 0) {
			bad = status;
			if (s->op == BDC_OP_WRITE)
				c->gen[s->block] = GEN_UNKNOWN;
			continue;
		}
		ok++;
		if (s->op == BDC_OP_WRITE) {
			c->gen[s->block] = s->gen;
			add(c, BDC_WRITES, 1);
		} else {
			verify(c, req, s->block);
		}
	}
	add(c, BDC_OPS, (uint64_t)ok);
	if (bad || ok != r)
		error(c, bad ? bad : -MAPLE_EINVAL);
}

/* Every block in order, BDC_BATCH at a time, all with op. */
static void sweep(struct bdc *c, uint32_t op)
{
	for (uint32_t b = 0; b < BDC_BLOCKS; b += BDC_BATCH) {
		for (uint32_t i = 0; i < BDC_BATCH; i++)
			slots[i] = (struct slot){.block = b + i, .op = op};
		submit_checked(c, BDC_BATCH);
	}
}

/* A random block not yet among slots[0..n). */
static uint32_t pick(struct bdc *c, uint32_t n)
{
	for (;;) {
		uint32_t b = (uint32_t)(xorshift(c) % BDC_BLOCKS), i = 0;
		while (i < n && slots[i].block != b)
			i++;
		if (i == n)
			return b;
	}
}

void workload_verify(struct bdc *c, long ops, long write_percent)
{
	logged_errors = logged_lost = 0;
	if (!c->formatted) {
		sweep(c, BDC_OP_WRITE);
		c->formatted = true;
	}
	for (long done = 0; done < ops && !__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE);) {
		uint32_t n = ops - done < BDC_BATCH ? (uint32_t)(ops - done) : BDC_BATCH;
		for (uint32_t i = 0; i < n; i++) {
			uint32_t block = pick(c, i);
			bool write = (long)(xorshift(c) % 100) < write_percent;
			slots[i] = (struct slot){.block = block,
						 .op = write ? BDC_OP_WRITE : BDC_OP_READ};
		}
		submit_checked(c, n);
		done += n;
	}
	sweep(c, BDC_OP_READ);
}

void workload_throughput(struct bdc *c, uint32_t op, long ms)
{
	logged_errors = logged_lost = 0;
	long r = set_len(c, BDC_BATCH);
	if (r < 0) {
		error(c, r);
		return;
	}
	for (uint32_t i = 0; i < BDC_BATCH; i++)
		req_at(c, i)->op = op;
	uint64_t done = 0, t0 = maple_clock_ns(), end = t0 + (uint64_t)ms * 1000000;
	while (maple_clock_ns() < end && !__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		/* A random run of consecutive blocks: distinct without a search. */
		uint32_t first = (uint32_t)(xorshift(c) % BDC_BLOCKS);
		for (uint32_t i = 0; i < BDC_BATCH; i++) {
			struct BlockReq *req = req_at(c, i);
			req->block = (first + i) % BDC_BLOCKS;
			req->status = STATUS_UNSET;
		}
		r = timed_submit(c);
		if (r >= 0) {
			done += (uint64_t)r;
			add(c, BDC_OPS, (uint64_t)r); /* live, for throughput over time */
		}
		if (r != BDC_BATCH)
			error(c, r < 0 ? r : -MAPLE_EINVAL);
	}
	set(c, BDC_TPUT_NS, maple_clock_ns() - t0);
	set(c, BDC_TPUT_OPS, done);
	if (op == BDC_OP_WRITE) {
		/* The blocks now hold whatever the buffers held: no pattern. */
		for (uint32_t b = 0; b < BDC_BLOCKS; b++)
			c->gen[b] = GEN_UNKNOWN;
		c->formatted = false;
	}
}
