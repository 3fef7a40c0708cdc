/*
 * bdev_check: the BlockDevice shadow's end-to-end checks (docs/recovery.md,
 * "End-to-end integrity"), the hooks the generated shadow calls around each
 * forwarded call (docs/idl.md, "Shadow checks"). A block driver can run on
 * while wrong: acknowledge a write it did not store, store it in the wrong
 * place, return wrong data, skip a request. Recovery that waits for a crash
 * never sees that; this finds it and has the shadow restart the driver and
 * redo the batch, as after a crash.
 *
 * Trust boundary: the driver is not trusted to have done what it says. The
 * shadow keeps, in its own memory (no other domain can write it), the
 * checksum of each block's last write it saw stored (blocksums.h). Before
 * a batch reaches the driver it copies each write's bytes and notes their
 * checksums, and sets every status of the driver's copy of the batch (below)
 * to a value the driver must overwrite (before every further attempt it
 * writes the copy again: a wrong driver may have overwritten it). After
 * the driver returns, it judges every status and the count, every read's
 * data against the table, and (the instance's policy, on by default:
 * bdev_check_read_back) reads every acknowledged write back through the
 * same driver into its own requests, so an acknowledgement reaches the
 * client only for a write that reads back as the client wrote it. Anything
 * else: the driver is wrong. With the read-back off, a write acknowledged
 * but not stored is found by the next read of its block instead. The table
 * covers BDEV_CHECK_TRACK_MAX blocks: reads past it are not judged (logged
 * at init), never judged against a checksum the shadow does not have. A
 * read whose wrong contents a second driver instance reads again is
 * corrupt at rest (a wrong driver wrote over it): the reader gets the
 * block from the shadow's mirror, which is written back, or without one
 * the request fails with -MAPLE_EIO naming the block; no wrong data is
 * returned as read.
 *
 * The client's deque and requests are shared memory it may rewrite at any
 * time, the driver's call included: so each request's fields are read once
 * (block_req_read) into the call's token, and the driver never sees the
 * client's requests at all. It gets the shadow's own copy of the batch
 * (struct reqset: a deque of requests and buffers the shadow owns, on the
 * shared heap), which begin fills from the token, the checks judge, and
 * end copies back into the client's requests (statuses, and the bytes of
 * each read done) only once the verdict stands. A client that rewrites its
 * requests during the call spoils only its own result, never the driver's
 * answer: it cannot have an honest driver blamed and restarted under the
 * other clients of the shadow. (The shared heap is one protection key, so
 * a domain could still write the shadow's copies if it found them:
 * docs/exchange-heap.md's limit, docs/isolation.md.) A request the shadow
 * finds invalid never reaches the driver: the shadow answers it
 * -MAPLE_EINVAL, as every driver does (block.h's one block_req_read).
 *
 * The copies are shared memory a wrong driver can write too (its head,
 * length, handles, fields): before every attempt the shadow writes each
 * word it relies on again, and reaches its requests only through its own
 * pointers.
 */
#include <block/bdev_shadow/bdev_check.h>
#include <block/bdev_shadow/blocksums.h>
#include <block/block.h>
#include <lib/string.h>

#define UNSERVED  1 /* a status the driver must overwrite: it never sets a positive one */
#define BATCH_MAX 32
/* Read-back requests with a 128 KiB buffer (1 MiB of the shared heap): a
 * batch of large writes is read back in BATCH_MAX / RB_BUFS submits. */
#define RB_BUFS 8
/* The largest device the shadow mirrors: a copy of every block's last
 * stored write, to restore a block a wrong driver overwrote at rest. */
#define MIRROR_MIB 16
#define MIRROR_MAX ((uint64_t)MIRROR_MIB << 20)
#define TEXT_(x)   #x
#define TEXT(x)	   TEXT_(x)

/*
 * The shadow's own batch of requests, handed to a driver in place of a
 * client's (a call's copy) or to read back writes (chk.rb): a deque of
 * BATCH_MAX requests, each with a 128 KiB buffer nested once one was
 * needed. All of it lies on the shared heap, which a wrong driver can write
 * like any domain, even after its call returned: its requests and buffers
 * are reached only through the pointers kept here, never through a slot or
 * a buf field.
 */
struct reqset {
	rref_t deque;
	rref_t handle[BATCH_MAX]; /* the requests as pushed, in slot order */
	struct BlockReq *req[BATCH_MAX];
	rref_t buf[BATCH_MAX]; /* nested in request i, or RREF_NULL */
	struct reqset *next;   /* chk.idle's list */
};

/* One request of the batch, as begin read it. */
struct pending {
	struct BlockReq *req; /* the client's; NULL: no request lent to the call (block_req_at) */
	struct block_req q;
	uint8_t *bytes; /* the client's bytes; NULL: the request is invalid */
	uint8_t *copy;	/* a write's bytes as the client lent them, in the token */
	uint8_t *area;	/* the driver's copy of the request's bytes (valid requests) */
	uint32_t mine;	/* the driver's copy: its index in the token's set */
	int32_t status; /* the verdict's status, what end gives the client */
	uint32_t first; /* its first block's index in the token's sums */
	bool raced;	/* another call's write of its blocks was stored meanwhile */
};

struct token {
	uint32_t n;		   /* requests in the batch */
	uint32_t valid;		   /* ... of them valid: the set's first, in order */
	struct reqset *set;	   /* the driver's copy of the batch */
	uint64_t bsize;		   /* the block size they were read with */
	uint64_t gen;		   /* ... and chk.gen then: the table they index */
	struct blocksum *new_sums; /* init: a table for the new geometry */
	uint8_t *new_mirror;	   /* ... and its mirror, or NULL (too large, no memory) */
	bool resizing;		   /* init: counted in chk.resizing */
	uint64_t new_blocks, new_size;
	struct pending p[BATCH_MAX];
	/* Per block of every valid request: a write's checksum as the client
	 * wrote it at begin; a read's wrong checksum on an earlier attempt (a
	 * different driver instance), or BLOCKSUM_NONE. Then the writes' copies. */
	uint64_t sums[];
};

/*
 * THE INVARIANT (the shadow's RRef quota and heap are every client's): what
 * the shadow holds for its clients' batches is bounded whatever they send.
 * At most SETS_MAX submits are past begin at once (turn_take; more wait
 * their turn), each with one set and one token
 * (its writes' copy, 4 MiB at most, on the shadow's own heap). A set is
 * made only when none is idle, so every set there is is held by one of
 * them or idle: SETS_MAX sets at most, each BATCH_MAX requests and at most
 * BATCH_MAX buffers of 128 KiB (4.3 MiB), 18.3 MiB of the 32 MiB a domain
 * may hold with the read-back set. Before, every call had a set of its
 * own: a client whose threads each lent a batch of 32 two-block reads
 * naming one 1 KiB buffer (rogue case 450) paid 1 KiB and 33 requests a
 * thread, the shadow 4 MiB, and twelve of them ran its quota out under
 * every other client's batch (-MAPLE_ENOMEM).
 */
#define SETS_MAX 4

static struct {
	struct dom_lock lock;	/* everything below, and each call's judging */
	struct blocksums table; /* the first BDEV_CHECK_TRACK_MAX blocks at most */
	uint64_t nblocks;	/* the device's blocks, as init set them */
	bool sized;		/* init succeeded: nblocks and table hold its geometry */
	bool no_read_back;	/* the instance's policy: bdev_check_read_back(false) */
	bool no_mirror;		/* ... and bdev_check_mirror(false) */
	/* A batch's blocks index the table of the geometry it was read with:
	 * each new table has a new gen, and while an init is on its way to
	 * the driver (resizing: begin_init to end) the driver's geometry may
	 * already differ from the table's. A batch judged then, or read under
	 * another gen, is not judged at all (stale): no driver is blamed and
	 * no table entry touched, which its block numbers may lie beyond. */
	uint64_t gen;
	uint32_t resizing;
	uint64_t zero_sum; /* the checksum of a block of zeros */
	uint8_t *mirror;   /* each block's last stored write (MIRROR_MAX), or NULL */
	/* The read-back batch, its first RB_BUFS requests with a buffer.
	 * Before each use its head and slots are compared with what was
	 * pushed (rb_intact): a driver that rewrote them is found wrong. */
	struct reqset *rb;
	struct reqset *idle; /* call copies not in use (SETS_MAX in all, at most) */
	/* Tickets taken for a turn (turn_take), and turns ended. */
	uint32_t turns, turns_done;
	/* The submits past begin, not yet ended (their turns: SETS_MAX). */
	struct token *live[SETS_MAX];
} chk;

/*
 * Wait for a turn: ticket `mine` may go once fewer than SETS_MAX tickets
 * before it are unended, i.e. turns_done + SETS_MAX > mine, so at most
 * SETS_MAX are past here and unended (turns_done counts ends of any
 * ticket). The difference is taken signed: turns_done passes a waiting
 * ticket when later ones end first, and it must then go (unsigned, the
 * difference wrapped and the waiter slept for ever: seen at 12 threads).
 * Polled every 100 us: a turn waits for whole calls (milliseconds), and a
 * shorter sleep spent the host's time on the waiters' system calls. A
 * turn is held from begin to end, which every call reaches: a thread in a
 * running shadow is not unwound (domain/gate.c).
 */
static void turn_take(void)
{
	uint32_t mine = __atomic_fetch_add(&chk.turns, 1, __ATOMIC_RELAXED);
	while ((int32_t)(mine - __atomic_load_n(&chk.turns_done, __ATOMIC_ACQUIRE)) >= SETS_MAX)
		maple_sleep_ns(100000);
}

/* After the call's set is idle again (set_put), so the next turn finds it. */
static void turn_end(void)
{
	__atomic_add_fetch(&chk.turns_done, 1, __ATOMIC_RELEASE);
}

static void set_free(struct reqset *s)
{
	if (s->deque)
		BlockReq_deque32_free(s->deque); /* and what is nested, by the kernel's records */
	free(s);
}

/* Request i's buffer, nested in it now if it has none: its bytes, or NULL
 * if the heap has no room. Nested by the kernel's call, not the generated
 * BlockReq_set_buf, which first reads the request's buf word: that word is
 * on the shared heap, and a driver rewriting it meanwhile would have the
 * shadow refuse its own buffer and fail a client's batch unblamed. The
 * shadow's record (s->buf) says whether one is nested; the word is written
 * only for the driver to see, before each lending (set_fill,
 * read_back_round). */
static uint8_t *set_buf(struct reqset *s, uint32_t i)
{
	if (!s->buf[i]) {
		rref_t b = BlockBuf_alloc();
		if (!b)
			return NULL;
		if (rref_nest(b, s->handle[i]) < 0) {
			BlockBuf_free(b);
			return NULL;
		}
		s->buf[i] = b;
	}
	return BlockBuf_ptr(s->buf[i])->data;
}

/* A new set of BATCH_MAX requests, a buffer nested in each of the first
 * `bufs`; NULL if the heap has no room. */
static struct reqset *set_alloc(uint32_t bufs)
{
	struct reqset *s = malloc(sizeof *s);
	if (!s)
		return NULL;
	*s = (struct reqset){.deque = BlockReq_deque32_alloc()};
	long e = s->deque ? 0 : -MAPLE_ENOMEM;
	for (uint32_t i = 0; i < BATCH_MAX && e >= 0; i++) {
		rref_t r = BlockReq_alloc();
		e = r ? BlockReq_deque32_push(s->deque, r) : -MAPLE_ENOMEM;
		if (e < 0 && r)
			BlockReq_free(r);
		s->handle[i] = e < 0 ? RREF_NULL : r;
		s->req[i] = e < 0 ? NULL : BlockReq_ptr(r);
	}
	for (uint32_t i = 0; i < bufs && e >= 0; i++)
		e = set_buf(s, i) ? 0 : -MAPLE_ENOMEM;
	if (e < 0) {
		set_free(s);
		return NULL;
	}
	return s;
}

/* A call's copy of its batch, during its turn: an idle set, else a new one
 * (SETS_MAX: then every set is held by another turn); NULL if none can be
 * had. Each set serves one call at a time. */
static struct reqset *set_get(void)
{
	dom_lock(&chk.lock);
	struct reqset *s = chk.idle;
	if (s)
		chk.idle = s->next;
	dom_unlock(&chk.lock);
	return s ? s : set_alloc(0);
}

/* The call is done with s: kept for the next. An idle set keeps RB_BUFS
 * buffers at most: what a batch of many large requests needed beyond them
 * (up to 3 MiB more) goes back to the heap, which the shadow's RRef quota
 * counts. Trimmed before any other call can take it from the list.
 * The buffer to unnest is named by s->buf[i], the shadow's own memory, not
 * by the request's buf word (BlockReq_take_buf reads that): the request is
 * on the shared heap, where any domain can write another of the shadow's
 * nested RRefs in between, and the shadow would free a buffer it still uses. */
static void set_put(struct reqset *s)
{
	for (uint32_t i = RB_BUFS; i < BATCH_MAX; i++) {
		if (!s->buf[i] || rref_unnest(s->buf[i]) < 0)
			continue; /* it stays nested, and is used again */
		BlockBuf_free(s->buf[i]);
		s->buf[i] = RREF_NULL;
	}
	dom_lock(&chk.lock);
	s->next = chk.idle;
	chk.idle = s;
	dom_unlock(&chk.lock);
}

static struct BlockReq *rb_req(uint32_t i)
{
	return chk.rb->req[i];
}

/* The read-back requests: a set whose first RB_BUFS requests have their
 * buffer. With the lock held. */
static long rb_alloc(void)
{
	if (!chk.rb)
		chk.rb = set_alloc(RB_BUFS);
	return chk.rb ? 0 : -MAPLE_ENOMEM;
}

/* The blocks of a device of `blocks` whose checksums the table keeps. */
static uint64_t tracked(uint64_t blocks)
{
	return blocks < BDEV_CHECK_TRACK_MAX ? blocks : BDEV_CHECK_TRACK_MAX;
}

static long begin_init(const long a[4], struct token **out)
{
	uint64_t blocks = (uint64_t)a[0], size = (uint64_t)a[1];
	if (!blocks || !size || size > sizeof(((struct BlockReq *)0)->data))
		return 0; /* every driver refuses it: no table */
	struct token *t = malloc(sizeof *t);
	if (!t)
		return -MAPLE_ENOMEM;
	*t = (struct token){.new_blocks = blocks, .new_size = size};
	dom_lock(&chk.lock);
	long e = rb_alloc();
	bool same = chk.sized && chk.nblocks == blocks && chk.table.block_size == size;
	dom_unlock(&chk.lock);
	if (e >= 0 && !same) {
		t->new_sums = malloc(tracked(blocks) * sizeof(struct blocksum));
		if (!t->new_sums)
			e = -MAPLE_ENOMEM;
		/* Optional: without it a block found corrupt at rest fails with
		 * -EIO (check logs which geometry has none, and why). */
		if (!chk.no_mirror && blocks <= MIRROR_MAX / size)
			t->new_mirror = malloc(blocks * size);
	}
	if (e < 0) {
		free(t);
		return e;
	}
	/* The shadow's generated code runs one init at a time (@replay), so
	 * `same` still holds; end() counts this init out. The same geometry
	 * again changes nothing a batch was read under: not counted, so that
	 * a client repeating init fails no other client's batch. */
	t->resizing = !same;
	dom_lock(&chk.lock);
	chk.resizing += t->resizing;
	dom_unlock(&chk.lock);
	*out = t;
	return 0;
}

/*
 * A batch names each block at most once where a write is concerned
 * (domains/idl/bdev.idl): a driver may run a batch's requests in any order
 * (NVMe does), so a write beside another request of its block leaves
 * either result, and the checks, which judge each request against the
 * batch's start, would take the honest driver for a wrong one and restart
 * it. Two reads of one block read the same in any order: allowed. -1
 * (logged, naming both requests) if valid requests i and j (i < j) break
 * the rule.
 */
static int named_twice(const struct pending *p, uint32_t n)
{
	for (uint32_t j = 1; j < n; j++)
		for (uint32_t i = 0; p[j].bytes && i < j; i++) {
			const struct block_req *a = &p[i].q, *b = &p[j].q;
			if (!p[i].bytes || (!a->op && !b->op) || a->block >= b->block + b->n ||
			    b->block >= a->block + a->n)
				continue;
			dom_printf("bdev_check: requests %u and %u both name block %lu, and one "
				   "writes it: the batch is refused (-EINVAL)",
				   i, j,
				   (unsigned long)(a->block > b->block ? a->block : b->block));
			return -1;
		}
	return 0;
}

/* Fill a read-back area so that a copy the driver skips cannot match want. */
static void poison(uint8_t *bytes, uint64_t want, uint64_t bsize)
{
	memset(bytes, want == chk.zero_sum ? 0xff : 0, bsize);
}

/*
 * Before an attempt: the driver's copy of the batch (t->set) as begin made
 * it, whatever an earlier attempt or a wild driver wrote there: the deque's
 * head, length and slots, each valid request's fields as begin read them,
 * its status UNSERVED, its buffer as nested, and each write's bytes as the
 * client lent them (the token's copy).
 */
static void set_fill(const struct token *t)
{
	struct reqset *s = t->set;
	struct BlockReq_deque32 *d = BlockReq_deque32_ptr(s->deque);
	__atomic_store_n(&d->head, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&d->len, t->valid, __ATOMIC_RELAXED);
	for (uint32_t c = 0; c < t->valid; c++)
		__atomic_store_n(&d->slots[c], s->handle[c], __ATOMIC_RELAXED);
	for (uint32_t i = 0; i < t->n; i++) {
		const struct pending *q = &t->p[i];
		if (!q->bytes)
			continue;
		/* Field by field: the bytes are the write's copy or the read's poison. */
		struct BlockReq *r = s->req[q->mine];
		r->block = q->q.block;
		r->op = q->q.op;
		r->status = UNSERVED;
		r->nblocks = q->q.n > 1 ? (uint32_t)q->q.n : 0;
		r->offset = 0;
		r->buf = s->buf[q->mine];
		if (q->copy)
			memcpy(q->area, q->copy, q->q.n * t->bsize);
	}
}

/* And each read's area filled so that bytes the driver leaves as they are
 * (a read it skips but says it did) cannot pass: the set may hold the same
 * block from an earlier call. With the lock held (the table). */
static void set_poison_reads(const struct token *t)
{
	for (uint32_t i = 0; i < t->n; i++) {
		const struct pending *q = &t->p[i];
		for (uint64_t j = 0; q->bytes && !q->q.op && j < q->q.n; j++)
			poison(q->area + j * t->bsize, blocksums_want(&chk.table, q->q.block + j),
			       t->bsize);
	}
}

/*
 * Read the batch once: each request's fields and bytes, and a copy of each
 * write's bytes with their checksums. The copy is what every attempt sends
 * (set_fill): the client may rewrite its bytes meanwhile, and a wrong
 * driver may overwrite the set's (a write served as a read copies the old
 * block over it). The driver gets the set, never the client's deque (the
 * call's first argument is replaced): an honest driver's answer is then
 * what the checks judge, whatever the client writes during the call.
 */
static long begin_submit(long a[4], struct token **out)
{
	rref_t deque = (rref_t)a[0];
	dom_lock(&chk.lock);
	bool sized = chk.sized;
	uint64_t nblocks = chk.nblocks, bsize = chk.table.block_size, gen = chk.gen;
	dom_unlock(&chk.lock);
	/* What every driver answers (block.h), without showing it the deque. */
	if (!sized ||
	    !block_in_shared_heap((uint64_t)rref_ptr(deque), sizeof(struct BlockReq_deque32)))
		return -MAPLE_EINVAL;
	/* Each word of the deque read once, as BlockReq_deque32_len and _get
	 * judge them: an invalid deque holds nothing. */
	struct BlockReq_deque32 *d = BlockReq_deque32_ptr(deque);
	uint32_t head = __atomic_load_n(&d->head, __ATOMIC_RELAXED);
	uint32_t len = __atomic_load_n(&d->len, __ATOMIC_RELAXED);
	bool valid = head < BlockReq_deque32_CAP && len <= BlockReq_deque32_CAP;
	struct pending p[BATCH_MAX];
	uint32_t n = valid ? len : 0, blocks = 0, mine = 0;
	uint64_t written = 0; /* bytes of writes */
	struct block_mapped mapped = {0};
	for (uint32_t i = 0; i < n; i++) {
		p[i] = (struct pending){0};
		rref_t r = __atomic_load_n(&d->slots[(head + i) % BlockReq_deque32_CAP],
					   __ATOMIC_RELAXED);
		p[i].req = block_req_at(r, &mapped);
		if (!p[i].req || block_req_read(p[i].req, nblocks, bsize, &p[i].q) < 0)
			continue;
		p[i].bytes = block_req_bytes(p[i].req, p[i].q.count, p[i].q.offset, bsize, true);
		if (!p[i].bytes)
			continue;
		p[i].first = blocks;
		p[i].mine = mine++;
		blocks += (uint32_t)p[i].q.n;
		if (p[i].q.op)
			written += p[i].q.n * bsize;
	}
	if (named_twice(p, n) < 0)
		return -MAPLE_EINVAL; /* before any driver sees it: none is blamed */
	turn_take();		      /* the set and the token are bounded by the turns */
	struct token *t = malloc(sizeof *t + blocks * sizeof(uint64_t) + written);
	struct reqset *set = t ? set_get() : NULL;
	if (!set) {
		free(t);
		turn_end();
		return -MAPLE_ENOMEM;
	}
	*t = (struct token){.n = n, .valid = mine, .set = set, .bsize = bsize, .gen = gen};
	memcpy(t->p, p, n * sizeof *p);
	uint8_t *copy = (uint8_t *)&t->sums[blocks];
	for (uint32_t i = 0; i < n; i++) {
		struct pending *q = &t->p[i];
		q->status = q->req && !q->bytes ? -MAPLE_EINVAL : UNSERVED;
		if (!q->bytes)
			continue;
		q->area = q->q.n > 1 ? set_buf(set, q->mine) : set->req[q->mine]->data;
		if (!q->area) {
			set_put(set);
			free(t);
			turn_end();
			return -MAPLE_ENOMEM;
		}
		if (q->q.op) {
			q->copy = copy;
			memcpy(copy, q->bytes, q->q.n * bsize);
			copy += q->q.n * bsize;
		}
		for (uint64_t j = 0; j < q->q.n; j++)
			t->sums[q->first + j] =
				q->copy ? blocksum_of(q->copy + j * bsize, bsize) : BLOCKSUM_NONE;
	}
	set_fill(t);
	dom_lock(&chk.lock);
	set_poison_reads(t);
	/* A free slot: its turn makes this at most the SETS_MAX-th live call. */
	uint32_t k = 0;
	while (chk.live[k])
		k++;
	chk.live[k] = t;
	dom_unlock(&chk.lock);
	a[0] = (long)set->deque;
	*out = t;
	return 0;
}

static long begin(uint32_t method, long a[4], void **token)
{
	if (method == BlockDevice_init_METHOD)
		return begin_init(a, (struct token **)token);
	if (method == BlockDevice_submit_METHOD)
		return begin_submit(a, (struct token **)token);
	return 0;
}

/*
 * THE INVARIANT (a client's race is no driver's fault): a batch names a
 * block written at most once, but two calls may name one block at once,
 * from two clients, and the device then holds either write and a read
 * returns either contents. The checks judge a request against the table
 * only where no other call's write of its block was on its way: a block
 * another live call writes, or whose write another call stored during
 * this one (`raced`, set by that call's commit), is not judged (a read's
 * contents pass, a write reads back as anything) and is forgotten at
 * commit rather than stored, since which write the device kept is not
 * known. Before, rogue case 451 (one thread writing a block, another
 * reading it) had the honest membdev restarted 78 to 252 times in 300 ms
 * (6 runs of 6). With the lock held (chk.live).
 */
static bool written_elsewhere(const struct token *t, uint64_t block, uint64_t n)
{
	for (uint32_t k = 0; k < SETS_MAX; k++) {
		const struct token *u = chk.live[k];
		for (uint32_t i = 0; u && u != t && i < u->n; i++) {
			const struct pending *w = &u->p[i];
			if (w->bytes && w->q.op && w->q.block < block + n &&
			    block < w->q.block + w->q.n)
				return true;
		}
	}
	return false;
}

/* Whether blocks [block, block + n) of t's request q may be judged. */
static bool judged(const struct token *t, const struct pending *q, uint64_t block, uint64_t n)
{
	return !q->raced && !written_elsewhere(t, block, n);
}

/* t's writes are stored: every other live call's request of those blocks
 * raced them. With the lock held. */
static void mark_raced(const struct token *t)
{
	for (uint32_t k = 0; k < SETS_MAX; k++) {
		struct token *u = chk.live[k];
		for (uint32_t i = 0; u && u != t && i < u->n; i++) {
			struct pending *o = &u->p[i];
			for (uint32_t j = 0; o->bytes && !o->raced && j < t->n; j++) {
				const struct pending *w = &t->p[j];
				o->raced = w->bytes && w->q.op &&
					   w->q.block < o->q.block + o->q.n &&
					   o->q.block < w->q.block + w->q.n;
			}
		}
	}
}

/*
 * The read-back queue is the shadow's, but it lies in shared memory, which
 * a wrong driver can write like any domain: before each use its head and
 * every slot are compared with the handles set_alloc pushed (its length is
 * set for each batch, rb_send), and a damaged queue is replaced (the
 * runtime frees what is nested in it by its own records, not the payload).
 * Its requests are reached only through chk.rb's pointers, never through a
 * slot (rb_req). false (logged) if it was damaged (the driver that last had it
 * is wrong) or cannot be had.
 */
static bool rb_intact(void)
{
	if (rb_alloc() < 0) {
		dom_printf("bdev_check: no memory for a read-back queue");
		return false;
	}
	const struct BlockReq_deque32 *d = BlockReq_deque32_ptr(chk.rb->deque);
	bool ok = __atomic_load_n(&d->head, __ATOMIC_RELAXED) == 0;
	for (uint32_t i = 0; ok && i < BATCH_MAX; i++)
		ok = __atomic_load_n(&d->slots[i], __ATOMIC_RELAXED) == chk.rb->handle[i];
	if (ok)
		return true;
	dom_printf("bdev_check: the read-back queue was overwritten; replacing it");
	set_free(chk.rb);
	chk.rb = NULL; /* the next round allocates it and its buffers */
	return false;
}

/* Send the queue's first n requests to driver: the batch, and no request
 * the driver must read only to refuse it. With the lock held, after
 * rb_intact. */
static long rb_send(uint64_t driver, uint32_t n)
{
	__atomic_store_n(&BlockReq_deque32_ptr(chk.rb->deque)->len, n, __ATOMIC_RELAXED);
	return maple_xcall(driver, BlockDevice_submit_WORD, (long)chk.rb->deque, 0, 0, 0);
}

/* Where read-back request i puts what it reads for the write q: its own
 * data for one block, else its buffer (i < RB_BUFS). */
static uint8_t *rb_area(uint32_t i, const struct pending *q)
{
	return q->q.n > 1 ? BlockBuf_ptr(chk.rb->buf[i])->data : rb_req(i)->data;
}

/*
 * Read back the acknowledged writes among t's requests [*next, n) through
 * driver, as many as one batch holds (large requests in the first RB_BUFS
 * requests, whose buffers they use),
 * and compare them with what the client wrote. With the lock held. 0 if they
 * all read back right; -1 if the driver is wrong (logged) or failed (*crash
 * set to the gate's error).
 */
static int read_back_round(struct token *t, uint64_t driver, uint32_t *next, long *crash)
{
	uint64_t bsize = chk.table.block_size;
	uint32_t used = 0, which[BATCH_MAX];
	if (!rb_intact())
		return -1;
	for (; *next < t->n && used < BATCH_MAX; ++*next) {
		const struct pending *q = &t->p[*next];
		if (!q->bytes || !q->q.op || q->status != 0)
			continue;
		if (q->q.n > 1 && used >= RB_BUFS)
			break; /* the next round has a buffer for it */
		struct BlockReq *rb = rb_req(used);
		rb->block = q->q.block;
		rb->op = 0;
		rb->nblocks = q->q.n > 1 ? (uint32_t)q->q.n : 0;
		rb->offset = 0;
		rb->status = UNSERVED;
		if (used < RB_BUFS)
			rb->buf = chk.rb->buf[used]; /* as nested, whatever a driver wrote */
		for (uint64_t j = 0; j < q->q.n; j++)
			poison(rb_area(used, q) + j * bsize, t->sums[q->first + j], bsize);
		which[used++] = *next;
	}
	if (!used)
		return 0;
	long r = rb_send(driver, used);
	if (BlockDevice_shadow_crashed(r)) {
		*crash = r; /* the crash path, not a wrong answer */
		return -1;
	}
	if (r < 0) {
		dom_printf("bdev_check: reading back %u acknowledged writes failed: error %ld",
			   used, r);
		return -1;
	}
	for (uint32_t i = 0; i < used; i++) {
		const struct pending *q = &t->p[which[i]];
		struct BlockReq *rb = rb_req(i);
		const uint8_t *area = rb_area(i, q);
		for (uint64_t j = 0; j < q->q.n; j++) {
			uint64_t got =
				rb->status ? BLOCKSUM_NONE : blocksum_of(area + j * bsize, bsize);
			if (got != t->sums[q->first + j] && judged(t, q, q->q.block + j, 1)) {
				dom_printf(
					"bdev_check: block %lu reads back wrong after the driver "
					"acknowledged writing it (status %d, checksum %#lx, "
					"written %#lx)",
					(unsigned long)(q->q.block + j), rb->status,
					(unsigned long)got, (unsigned long)t->sums[q->first + j]);
				return -1;
			}
		}
	}
	return 0;
}

/*
 * The device holds wrong contents for block (two driver instances read
 * them), and a read of it asked for them. With a mirror whose copy still
 * has the checksum of the block's last stored write, the reader gets that
 * copy and driver is asked to write it back: 0. Without one: -1, and the
 * request fails with -MAPLE_EIO. Either way, a line names the block.
 */
static int restore(uint64_t driver, struct pending *q, uint64_t j, uint64_t got)
{
	uint64_t bsize = chk.table.block_size, block = q->q.block + j;
	uint64_t want = blocksums_want(&chk.table, block);
	const uint8_t *good = chk.mirror ? chk.mirror + block * bsize : NULL;
	if (!good || blocksum_of(good, bsize) != want) {
		dom_printf("bdev_check: block %lu is corrupt at rest: two driver instances read "
			   "checksum %#lx, its last stored write has %#lx; -EIO",
			   (unsigned long)block, (unsigned long)got, (unsigned long)want);
		return -1;
	}
	memcpy(q->area + j * bsize, good, bsize);
	long r = -MAPLE_ENOMEM;
	if (rb_intact()) {
		struct BlockReq *w = rb_req(0);
		*w = (struct BlockReq){
			.block = block, .op = 1, .status = UNSERVED, .buf = chk.rb->buf[0]};
		memcpy(w->data, good, bsize);
		r = rb_send(driver, 1);
		r = r == 1 && w->status == 0 ? 0 : r < 0 ? r : -MAPLE_EIO;
	}
	blocksums_stored(&chk.table, block, want); /* the next read judges it again */
	dom_printf("bdev_check: block %lu was corrupt at rest (checksum %#lx, its last stored "
		   "write %#lx): restored from the shadow's mirror, written back: %ld",
		   (unsigned long)block, (unsigned long)got, (unsigned long)want, r);
	return 0;
}

/*
 * Judge one read request that the driver served (status 0), block by block.
 * 0: right (or unknowable, or restored from the mirror); 1: corrupt at rest
 * (status set to -MAPLE_EIO); -1: the driver read wrongly (logged).
 */
static int judge_read(struct token *t, struct pending *q, uint64_t driver)
{
	uint64_t bsize = chk.table.block_size;
	int wrong = 0;
	for (uint64_t j = 0; j < q->q.n; j++) {
		uint64_t block = q->q.block + j, got = blocksum_of(q->area + j * bsize, bsize);
		uint64_t *seen = &t->sums[q->first + j];
		enum blocksum_verdict v = blocksums_judge(&chk.table, block, got);
		if ((v == BLOCKSUM_WRONG || v == BLOCKSUM_AT_REST) && !judged(t, q, block, 1))
			continue; /* either write's contents, or the old: a race, not a fault */
		if (v == BLOCKSUM_WRONG && got == *seen) {
			blocksums_at_rest(&chk.table, block, got);
			v = BLOCKSUM_AT_REST;
		}
		if (v == BLOCKSUM_AT_REST && restore(driver, q, j, got) < 0) {
			q->status = -MAPLE_EIO;
			return 1;
		}
		if (v == BLOCKSUM_WRONG) {
			/* Noted, and the other blocks judged too: a redo then
			 * tells every block at rest at once, not one a try. */
			*seen = got;
			wrong = -1;
			dom_printf(
				"bdev_check: block %lu reads wrong (checksum %#lx, its last stored "
				"write %#lx)",
				(unsigned long)block, (unsigned long)got,
				(unsigned long)blocksums_want(&chk.table, block));
		}
	}
	return wrong;
}

/*
 * Every status of the driver's copy (each read once, into the token: what
 * the client will get), the count and every read. 0, with *r the requests
 * done (less those failed as corrupt at rest), or -1 (logged) if the driver
 * is wrong.
 */
static int judge_batch(struct token *t, long *r, uint64_t driver)
{
	long done = 0, at_rest = 0;
	int wrong = 0;
	for (uint32_t i = 0; i < t->n; i++) {
		struct pending *q = &t->p[i];
		if (!q->bytes)
			continue; /* the shadow's to answer, not the driver's */
		int32_t status = __atomic_load_n(&t->set->req[q->mine]->status, __ATOMIC_RELAXED);
		q->status = status;
		if (status == UNSERVED || status == -MAPLE_EINVAL) {
			dom_printf("bdev_check: request %u (block %lu) is valid but got status %d",
				   i, (unsigned long)q->q.block, status);
			return -1;
		}
		if (status != 0)
			continue;
		done++;
		int v = q->q.op ? 0 : judge_read(t, q, driver);
		wrong |= v < 0; /* every read judged: see judge_read */
		at_rest += v > 0;
	}
	if (wrong)
		return -1;
	if (*r != done) {
		dom_printf("bdev_check: submit returned %ld, but %ld requests are done", *r, done);
		return -1;
	}
	*r = done - at_rest;
	return 0;
}

/* The batch's verdict stands: record what its writes stored, or forget them. */
static void commit(struct token *t)
{
	uint64_t bsize = chk.table.block_size;
	for (uint32_t i = 0; i < t->n; i++) {
		const struct pending *q = &t->p[i];
		if (!q->bytes || !q->q.op)
			continue;
		/* Raced (written_elsewhere): which write the device kept is not known. */
		bool stored = q->status == 0 && judged(t, q, q->q.block, q->q.n);
		for (uint64_t j = 0; j < q->q.n; j++) {
			uint64_t block = q->q.block + j;
			if (!stored) {
				blocksums_forget(&chk.table, block);
				continue;
			}
			blocksums_stored(&chk.table, block, t->sums[q->first + j]);
			if (chk.mirror)
				memcpy(chk.mirror + block * bsize, q->copy + j * bsize, bsize);
		}
	}
	mark_raced(t);
}

/* The batch's writes may have stored anything, in whole or in part: their
 * blocks are unknown, as they are to the client. With the lock held. */
static void forget_writes(const struct token *t)
{
	if (t->gen != chk.gen)
		return; /* a new table, which knows nothing of them */
	for (uint32_t i = 0; i < t->n; i++) {
		const struct pending *q = &t->p[i];
		for (uint64_t j = 0; q->bytes && q->q.op && j < q->q.n; j++)
			blocksums_forget(&chk.table, q->q.block + j);
	}
}

/*
 * The last attempt was wrong and none follows: nothing of it may reach the
 * client as done. Every request the driver saw fails with -MAPLE_EIO, and
 * the blocks written are unknown. The call's result: 0 done.
 */
static long fail_batch(struct token *t)
{
	for (uint32_t i = 0; i < t->n; i++)
		if (t->p[i].bytes)
			t->p[i].status = -MAPLE_EIO;
	forget_writes(t);
	return 0;
}

/* Whether t's batch cannot be judged (chk.gen). With the lock held. */
static bool stale(const struct token *t)
{
	return chk.resizing || t->gen != chk.gen;
}

/* Before the batch goes to a driver again: its copy as begin made it (a
 * wild driver may have written any of it). With the lock held. */
static void preset(const struct token *t)
{
	set_fill(t);
	set_poison_reads(t);
}

static enum BlockDevice_shadow_verdict check_submit(struct token *t, uint64_t driver, bool last,
						    long *r)
{
	dom_lock(&chk.lock);
	if (BlockDevice_shadow_crashed(*r)) {
		preset(t); /* the crash path sends it again */
		dom_unlock(&chk.lock);
		return BlockDevice_SHADOW_RIGHT;
	}
	if (stale(t)) {
		dom_printf("bdev_check: the device was sized anew during a batch of %u requests: "
			   "they fail (-EIO), unjudged",
			   t->n);
		*r = fail_batch(t);
		dom_unlock(&chk.lock);
		return BlockDevice_SHADOW_RIGHT;
	}
	long crash = 0;
	int wrong = *r < 0 ? -1 : judge_batch(t, r, driver);
	if (*r < 0)
		dom_printf("bdev_check: submit of a valid batch failed: error %ld", *r);
	for (uint32_t next = 0; !wrong && !chk.no_read_back && next < t->n;)
		wrong = read_back_round(t, driver, &next, &crash);
	enum BlockDevice_shadow_verdict v = BlockDevice_SHADOW_RIGHT;
	if (crash) {
		*r = crash;
		preset(t);
	} else if (!wrong) {
		commit(t);
	} else if (last) {
		v = BlockDevice_SHADOW_WRONG_FAIL;
		*r = fail_batch(t);
	} else {
		v = BlockDevice_SHADOW_WRONG_REDO;
		preset(t);
	}
	dom_unlock(&chk.lock);
	return v;
}

/* Why an init's new geometry t has no mirror. */
static const char *no_mirror_why(const struct token *t)
{
	if (chk.no_mirror)
		return "this shadow's policy";
	if (t->new_blocks > MIRROR_MAX / t->new_size)
		return "more than the " TEXT(MIRROR_MIB) " MiB mirrored";
	return "no memory for it";
}

static enum BlockDevice_shadow_verdict check(uint32_t method, void *token, uint64_t driver,
					     bool last, long *r)
{
	struct token *t = token;
	if (!t)
		return BlockDevice_SHADOW_RIGHT;
	if (method == BlockDevice_submit_METHOD)
		return check_submit(t, driver, last, r);
	if (*r >= 0 && t->new_sums) {
		/* A new geometry: nothing is known of its blocks. */
		dom_lock(&chk.lock);
		free(chk.table.sums);
		free(chk.mirror);
		blocksums_init(&chk.table, tracked(t->new_blocks), t->new_size, t->new_sums);
		chk.nblocks = t->new_blocks;
		chk.mirror = t->new_mirror;
		if (chk.table.nblocks < t->new_blocks)
			dom_printf(
				"bdev_check: checksums kept for blocks 0 to %lu of %lu; reads of "
				"blocks %lu on are not judged (the table's limit)",
				(unsigned long)chk.table.nblocks - 1, (unsigned long)t->new_blocks,
				(unsigned long)chk.table.nblocks);
		if (!chk.mirror)
			dom_printf("bdev_check: no mirror of the %lu blocks of %lu bytes (%s): a "
				   "block found corrupt at rest fails with -EIO",
				   (unsigned long)t->new_blocks, (unsigned long)t->new_size,
				   no_mirror_why(t));
		t->new_sums = NULL;
		t->new_mirror = NULL;
		static const uint8_t zeros[sizeof(((struct BlockReq *)0)->data)];
		chk.zero_sum = blocksum_of(zeros, t->new_size);
		chk.sized = true;
		chk.gen++;
		dom_unlock(&chk.lock);
	}
	return BlockDevice_SHADOW_RIGHT;
}

/*
 * The verdict stands: the client's requests get what the checks judged,
 * each status and each done read's bytes, copied from the token and the
 * driver's copy into the memory the client lent (confirmed at begin, and
 * lent until the call returns). Only now, so that nothing the client
 * writes during the call can reach what the driver is judged on. A call
 * that failed as a whole (r < 0) did nothing as far as the client knows:
 * every valid request UNSERVED, as the driver found it.
 */
static void give_back(const struct token *t, long r)
{
	for (uint32_t i = 0; i < t->n; i++) {
		const struct pending *q = &t->p[i];
		if (!q->req)
			continue;
		int32_t status = r < 0 && q->bytes ? UNSERVED : q->status;
		if (status == 0 && !q->q.op)
			memcpy(q->bytes, q->area, q->q.n * t->bsize);
		__atomic_store_n(&q->req->status, status, __ATOMIC_RELAXED);
	}
}

/* The call is over with result r: the client gets its results, and a
 * batch that failed as a whole (the driver crashed in every attempt, or
 * none could be restarted) forgets its writes. */
static void end(uint32_t method, void *token, long r)
{
	struct token *t = token;
	if (t && method == BlockDevice_submit_METHOD) {
		give_back(t, r);
		set_put(t->set);
		dom_lock(&chk.lock);
		if (r < 0)
			forget_writes(t);
		for (uint32_t k = 0; k < SETS_MAX; k++)
			if (chk.live[k] == t)
				chk.live[k] = NULL;
		dom_unlock(&chk.lock);
		free(t);
		turn_end(); /* after the token too: the turn bounds it */
		return;
	}
	if (t && method == BlockDevice_init_METHOD && t->resizing) {
		dom_lock(&chk.lock);
		chk.resizing--;
		dom_unlock(&chk.lock);
	}
	if (t) {
		free(t->new_sums);
		free(t->new_mirror);
	}
	free(t);
}

void bdev_check_read_back(bool on)
{
	chk.no_read_back = !on;
	if (!on)
		dom_printf("bdev_check: acknowledged writes are not read back (this shadow's "
			   "policy); reads are checked");
}

void bdev_check_mirror(bool on)
{
	chk.no_mirror = !on;
}

const struct BlockDevice_shadow_checks bdev_checks = {.begin = begin, .check = check, .end = end};
