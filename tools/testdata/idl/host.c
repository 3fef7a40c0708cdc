/*
 * Runs IDL-generated code (bdev.idl, every.idl) on the host, for
 * tools/test_idlc.py: `host CASE` runs one case and exits 0 if it passed.
 *
 * The SDK is faked here: domains are entries in a table, each with the
 * methods its "domain_main" exported; the shared heap is calloc with
 * handles built as the real ones are (RREF_HANDLE: index, generation 0,
 * payload slot), payloads bumped from an arena mapped at SHARED_HEAP_VA. maple_xcall
 * stays the SDK's own inline function: it calls the gate's fixed address,
 * where main() maps a jump to fake_gate, which does what the real gate
 * does for these tests: refuses dead domains, checks the caller's RRefs,
 * moves and lends them as the method word says, and calls the method.
 * A domain "crashes" in a call when the test arms crash_at for it: the gate
 * then marks it failed and returns -MAPLE_ECALLEE, as unwinding would.
 */
#include "bdev.h"
#include "every.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);            \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

/* ---- the shared heap ---- */

#define HEAP_MAX    256
#define ARENA_BYTES (16UL << 20)

static struct {
	void *payload;
	uint32_t type, size;
	uint64_t owner;	 /* a domain handle; 0: nested */
	uint64_t parent; /* when nested */
	uint32_t borrows;
} heap[HEAP_MAX];
static unsigned heap_next = 1;
static uint64_t arena_next = SHARED_HEAP_VA;
static uint64_t current; /* the running fake domain's handle */

static unsigned idx(rref_t r)
{
	unsigned i = (unsigned)(r >> RREF_INDEX_SHIFT);
	if (!i || i >= HEAP_MAX || !heap[i].payload ||
	    (uintptr_t)heap[i].payload != RREF_HANDLE_PTR(r))
		return 0;
	return i;
}

rref_t rref_alloc(uint32_t type, size_t size)
{
	uint64_t bytes = (size + 63) & ~63UL;
	if (heap_next == HEAP_MAX || arena_next + bytes > SHARED_HEAP_VA + ARENA_BYTES)
		return RREF_NULL;
	unsigned i = heap_next++;
	heap[i].payload = (void *)(uintptr_t)arena_next;
	arena_next += bytes;
	heap[i].type = type;
	heap[i].size = (uint32_t)size;
	heap[i].owner = current;
	return RREF_HANDLE(i, 0, (uintptr_t)heap[i].payload);
}

long rref_free(rref_t r)
{
	unsigned i = idx(r);
	if (!i || heap[i].owner != current || heap[i].borrows)
		return -MAPLE_EPERM;
	for (unsigned k = 1; k < heap_next; k++)
		if (heap[k].payload && !heap[k].owner && heap[k].parent == r) {
			heap[k].owner = current; /* children go with their parent */
			rref_free(RREF_HANDLE(k, 0, (uintptr_t)heap[k].payload));
		}
	heap[i].payload = NULL; /* the arena is not reused: a stale handle stays stale */
	return 0;
}

long rref_nest(rref_t child, rref_t parent)
{
	unsigned c = idx(child), p = idx(parent);
	if (!c || !p || c == p || heap[c].owner != current || heap[c].borrows)
		return -MAPLE_EPERM;
	heap[c].owner = 0;
	heap[c].parent = parent;
	return 0;
}

long rref_unnest(rref_t child)
{
	unsigned c = idx(child);
	if (!c || heap[c].owner)
		return -MAPLE_EPERM;
	heap[c].owner = current;
	heap[c].parent = RREF_NULL;
	return 0;
}

long rref_bus(rref_t r, uint64_t len)
{
	(void)len;
	return (long)RREF_HANDLE_PTR(r);
}

long rref_info(rref_t r)
{
	unsigned i = idx(r);
	return i ? (long)(heap[i].owner | (uint64_t)heap[i].borrows << 16) : -MAPLE_EINVAL;
}

/* ---- domains ---- */

#define DOMAINS 16
typedef long (*method_fn)(long, long, long, long);

struct image {
	const char *name;
	long (*main)(void);
};

static struct {
	const char *name;
	bool alive;
	method_fn methods[32];
	size_t nmethods;
	int crash_at; /* method index whose next call crashes the domain, or -1 */
	uint64_t last_word;
	long calls;
} doms[DOMAINS];
static uint64_t dom_next = 1;
static const struct image *images;
static int destroys;
static int crash_new_at = -1;	    /* crash_at of every domain created from now on */
static int crash_next_created = -1; /* crash_at of the next domain created only */
static int starts_to_fail;	    /* creates that fail as a crash in domain_main does */

long maple_export(const uint64_t *entries, size_t n)
{
	CHECK(n <= 32);
	for (size_t i = 0; i < n; i++)
		doms[current].methods[i] = (method_fn)(uintptr_t)entries[i];
	doms[current].nmethods = n;
	return 0;
}

long maple_domain_create(const char *image)
{
	for (const struct image *im = images; im->name; im++) {
		if (strcmp(im->name, image))
			continue;
		if (starts_to_fail > 0) {
			starts_to_fail--;
			return -MAPLE_EINVAL; /* what the kernel returns for a failed start */
		}
		CHECK(dom_next < DOMAINS);
		uint64_t h = dom_next++, caller = current;
		doms[h].name = im->name;
		doms[h].alive = true;
		doms[h].crash_at = crash_next_created >= 0 ? crash_next_created : crash_new_at;
		crash_next_created = -1;
		current = h;
		long r = im->main();
		current = caller;
		return r < 0 ? r : (long)h;
	}
	return -MAPLE_ESRCH;
}

long maple_domain_destroy(uint64_t handle)
{
	if (handle >= dom_next || !doms[handle].name)
		return -MAPLE_ESRCH;
	doms[handle].alive = false;
	doms[handle].name = NULL;
	destroys++;
	return 0;
}

long maple_lookup(const char *name)
{
	for (uint64_t h = 1; h < dom_next; h++)
		if (doms[h].name && doms[h].alive && !strcmp(doms[h].name, name))
			return (long)h;
	return -MAPLE_ESRCH;
}

void dom_lock(struct dom_lock *l)
{
	CHECK(!l->locked); /* one thread: a second lock is a deadlock */
	l->locked = 1;
}

void dom_unlock(struct dom_lock *l)
{
	CHECK(l->locked);
	l->locked = 0;
}

int dom_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("[%s] ", doms[current].name ? doms[current].name : "test");
	int n = vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	return n;
}

/* RRefs named by the word: the caller must own them, or be lending on one it
 * borrows (a shadow forwarding a borrow); as maple/rref_abi.h describes. */
static long gate_in(uint64_t callee, uint64_t word, const long *a)
{
	for (int i = 0; i < 4; i++) {
		if (!(word & (XCALL_MOVE(i) | XCALL_BORROW(i))))
			continue;
		unsigned k = idx((rref_t)a[i]);
		if (!k || ((word & XCALL_MOVE(i)) && (heap[k].owner != current || heap[k].borrows)))
			return -MAPLE_EPERM;
		if ((word & XCALL_BORROW(i)) && heap[k].owner != current && !heap[k].borrows)
			return -MAPLE_EPERM;
	}
	for (int i = 0; i < 4; i++) {
		unsigned k = idx((rref_t)a[i]);
		if (word & XCALL_MOVE(i))
			heap[k].owner = callee;
		else if (word & XCALL_BORROW(i))
			heap[k].borrows++;
	}
	return 0;
}

static long fake_gate(uint64_t domain, uint64_t word, long a0, long a1, long a2, long a3)
{
	long a[4] = {a0, a1, a2, a3};
	if (domain == 0 || domain >= dom_next || !doms[domain].alive)
		return -MAPLE_EDEAD;
	unsigned m = word & XCALL_METHOD_MASK;
	if (m >= doms[domain].nmethods)
		return -MAPLE_ESRCH;
	long r = gate_in(domain, word, a);
	if (r < 0)
		return r;
	doms[domain].last_word = word;
	doms[domain].calls++;
	uint64_t caller = current;
	if (doms[domain].crash_at == (int)m) {
		doms[domain].alive = false; /* its RRefs die with it: moved ones stay its */
		r = -MAPLE_ECALLEE;
	} else {
		current = domain;
		r = doms[domain].methods[m](a0, a1, a2, a3);
		current = caller;
	}
	for (int i = 0; i < 4; i++)
		if (word & XCALL_BORROW(i))
			heap[idx((rref_t)a[i])].borrows--;
	if ((word & XCALL_RESULT_RREF) && r > 0) {
		unsigned k = idx((rref_t)r);
		CHECK(k && heap[k].owner == domain);
		heap[k].owner = caller;
	}
	return r;
}

static void map_gate(void)
{
	void *arena =
		mmap((void *)SHARED_HEAP_VA, ARENA_BYTES, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_NORESERVE, -1, 0);
	CHECK(arena == (void *)SHARED_HEAP_VA);
	void *page = mmap((void *)MAPLE_GATE_XCALL_VA, 4096, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	CHECK(page == (void *)MAPLE_GATE_XCALL_VA);
	uint8_t *code = page;
	uint64_t target = (uint64_t)(uintptr_t)fake_gate;
	code[0] = 0x48; /* movabs $target, %rax */
	code[1] = 0xb8;
	memcpy(code + 2, &target, 8);
	code[10] = 0xff; /* jmp *%rax */
	code[11] = 0xe0;
	CHECK(mprotect(page, 4096, PROT_READ | PROT_EXEC) == 0);
}

/* ---- a block device driver and a client ---- */

static uint64_t dev_blocks, dev_block_size, dev_done;
static uint8_t dev_data[64][4096];
static int dev_inits;

static long dev_init(uint64_t nblocks, uint64_t block_size)
{
	if (nblocks > 64 || block_size > 4096)
		return -MAPLE_EINVAL;
	dev_blocks = nblocks;
	dev_block_size = block_size;
	dev_done = 0;
	dev_inits++;
	return (long)(nblocks * block_size);
}

static long dev_submit(rref_t reqs)
{
	if (!dev_blocks)
		return -MAPLE_EINVAL; /* not configured: a restart lost init */
	long done = 0;
	for (uint32_t i = 0; i < BlockReq_deque32_len(reqs); i++) {
		struct BlockReq *r = BlockReq_ptr(BlockReq_deque32_get(reqs, i));
		if (r->block >= dev_blocks || r->op > 1) {
			r->status = -MAPLE_EINVAL;
			continue;
		}
		if (r->op)
			memcpy(dev_data[r->block], r->data, dev_block_size);
		else
			memcpy(r->data, dev_data[r->block], dev_block_size);
		r->status = 0;
		done++;
	}
	dev_done += (uint64_t)done;
	return done;
}

static long dev_stats(void)
{
	return (long)dev_done;
}

static long dev_flush(void)
{
	return 0; /* memory: every write is durable when it is done */
}

static long dev_capacity(void)
{
	return (long)sizeof(dev_data);
}

static long dev_min_block(void)
{
	return 1;
}

static long membdev_main(void)
{
	dev_blocks = 0; /* a new driver starts with no state */
	static const struct BlockDevice_impl impl = {.init = dev_init,
						     .submit = dev_submit,
						     .stats = dev_stats,
						     .flush = dev_flush,
						     .capacity = dev_capacity,
						     .block_size = dev_min_block};
	return BlockDevice_export(&impl);
}

static long shadow_main(void)
{
	return BlockDevice_shadow_start("membdev");
}

/* ---- shadow checks: a checker whose verdicts the case sets ---- */

static enum BlockDevice_shadow_verdict verdicts[4]; /* for submit, used from the last */
static int nverdicts, checked, ended;
static long begin_error, end_result, token_word;
static uint32_t swap_n; /* nonzero: begin hands the driver a deque of its own of swap_n */
static rref_t swapped;	/* ... which it allocates once, as the shadow */

static rref_t requests(uint32_t n, uint32_t op);

static long k_begin(uint32_t method, long a[4], void **token)
{
	*token = &token_word;
	if (method != BlockDevice_submit_METHOD)
		return 0;
	if (swap_n && !swapped)
		swapped = requests(swap_n, 0);
	if (swap_n)
		a[0] = (long)swapped;
	return begin_error;
}

static enum BlockDevice_shadow_verdict k_check(uint32_t method, void *token, uint64_t driver,
					       bool last, long *r)
{
	(void)driver;
	CHECK(token == &token_word);
	checked++;
	if (method != BlockDevice_submit_METHOD || BlockDevice_shadow_crashed(*r) || !nverdicts)
		return BlockDevice_SHADOW_RIGHT;
	enum BlockDevice_shadow_verdict v = verdicts[--nverdicts];
	if (v == BlockDevice_SHADOW_WRONG_REDO && last)
		v = BlockDevice_SHADOW_WRONG_FAIL; /* the contract: nothing follows the last */
	if (v == BlockDevice_SHADOW_WRONG_FAIL)
		*r = -MAPLE_EIO;
	return v;
}

static void k_end(uint32_t method, void *token, long r)
{
	(void)method;
	CHECK(token == &token_word);
	ended++;
	end_result = r;
}

static const struct BlockDevice_shadow_checks host_checks = {
	.begin = k_begin, .check = k_check, .end = k_end};

static long checked_shadow_main(void)
{
	return BlockDevice_shadow_start_checked("membdev", &host_checks);
}

static long bad_main(void)
{
	struct BlockDevice_impl impl = {.init = dev_init, .submit = dev_submit};
	return BlockDevice_export(&impl); /* no stats: refused */
}

static const struct image bdev_images[] = {
	{"membdev", membdev_main},
	{"bdev_shadow", shadow_main},
	{"bdev_shadow_checked", checked_shadow_main},
	{"bad", bad_main},
	{NULL, NULL},
};

/* A deque of n requests for blocks 0..n-1, owned by the running domain. */
static rref_t requests(uint32_t n, uint32_t op)
{
	rref_t q = BlockReq_deque32_alloc();
	CHECK(q);
	for (uint32_t i = 0; i < n; i++) {
		rref_t r = BlockReq_alloc();
		CHECK(r);
		BlockReq_ptr(r)->block = i;
		BlockReq_ptr(r)->op = op;
		BlockReq_ptr(r)->status = 1;
		memset(BlockReq_ptr(r)->data, 'a' + (int)i, sizeof(BlockReq_ptr(r)->data));
		CHECK(BlockReq_deque32_push(q, r) == 0);
	}
	return q;
}

static struct BlockDevice_ref client_setup(const char *image)
{
	images = bdev_images;
	current = dom_next++; /* the client */
	doms[current].name = "client";
	doms[current].alive = true;
	struct BlockDevice_ref dev;
	if (!strcmp(image, "membdev")) {
		CHECK(create_membdev(&dev) == 0);
	} else {
		CHECK(maple_domain_create(image) > 0);
		CHECK(BlockDevice_bind(&dev, image) == 0);
	}
	return dev;
}

/* ---- cases ---- */

static void case_deque(void)
{
	current = 1;
	rref_t q = BlockReq_deque32_alloc();
	CHECK(BlockReq_deque32_len(q) == 0 && BlockReq_deque32_pop(q) == RREF_NULL);
	rref_t items[BlockReq_deque32_CAP];
	for (int round = 0; round < 3; round++) {
		for (uint32_t i = 0; i < BlockReq_deque32_CAP; i++) {
			items[i] = BlockReq_alloc();
			CHECK(BlockReq_deque32_push(q, items[i]) == 0);
			CHECK(heap[idx(items[i])].parent == q && !heap[idx(items[i])].owner);
		}
		rref_t extra = BlockReq_alloc();
		CHECK(BlockReq_deque32_push(q, extra) == -MAPLE_ENOMEM);
		CHECK(BlockReq_deque32_len(q) == BlockReq_deque32_CAP);
		CHECK(BlockReq_deque32_get(q, 5) == items[5]);
		CHECK(BlockReq_deque32_get(q, BlockReq_deque32_CAP) == RREF_NULL);
		for (uint32_t i = 0; i < 7 + (uint32_t)round; i++) /* the ring wraps */
			CHECK(BlockReq_deque32_pop(q) == items[i]);
		for (uint32_t i = 7 + (uint32_t)round; i < BlockReq_deque32_CAP; i++) {
			rref_t r = BlockReq_deque32_pop(q);
			CHECK(r == items[i] && heap[idx(r)].owner == current);
			CHECK(BlockReq_free(r) == 0);
		}
		CHECK(BlockReq_free(extra) == 0);
	}
	BlockReq_deque32_ptr(q)->len = 99; /* scribbled on by someone: empty, unusable */
	CHECK(BlockReq_deque32_len(q) == 0 && BlockReq_deque32_get(q, 0) == RREF_NULL);
	CHECK(BlockReq_deque32_push(q, BlockReq_alloc()) == -MAPLE_ENOMEM);
	CHECK(BlockReq_deque32_free(q) == 0);
}

static void case_array_vec_fields(void)
{
	current = 1;
	rref_t a = Node_array4_alloc();
	rref_t n = Node_alloc();
	CHECK(Node_array4_set(a, 4, n) == -MAPLE_EINVAL);
	CHECK(Node_array4_set(a, 2, n) == 0 && Node_array4_len(a) == 1);
	CHECK(Node_array4_set(a, 2, Node_alloc()) == -MAPLE_EINVAL);
	CHECK(Node_array4_get(a, 2) == n && Node_array4_get(a, 1) == RREF_NULL);
	CHECK(Node_array4_take(a, 2) == n && Node_array4_len(a) == 0);
	CHECK(heap[idx(n)].owner == current);

	rref_t v = Point_vec8_alloc();
	struct Point p = {.x = -3, .y = 4}, out;
	for (int i = 0; i < 8; i++)
		CHECK(Point_vec8_push(v, &p) == 0);
	CHECK(Point_vec8_push(v, &p) == -MAPLE_ENOMEM && Point_vec8_len(v) == 8);
	p.x = 7;
	CHECK(Point_vec8_set(v, 7, &p) == 0 && Point_vec8_set(v, 8, &p) == -MAPLE_EINVAL);
	CHECK(Point_vec8_get(v, 8) == NULL && Point_vec8_get(v, 0)->x == -3);
	CHECK(Point_vec8_pop(v, &out) == 0 && out.x == 7 && out.y == 4 && Point_vec8_len(v) == 7);

	rref_t u = u16_vec64_alloc();
	uint16_t w;
	CHECK(u16_vec64_pop(u, &w) == -MAPLE_EINVAL);
	CHECK(u16_vec64_push(u, 65535) == 0 && u16_vec64_pop(u, &w) == 0 && w == 65535);

	rref_t pk = Packet_alloc();
	CHECK(Packet_set_list(pk, n) == 0 && Packet_ptr(pk)->list == n);
	CHECK(Packet_set_list(pk, Node_alloc()) == -MAPLE_EINVAL);
	CHECK(Packet_set_slots(pk, a) == 0 && Packet_set_path(pk, v) == 0);
	CHECK(Packet_take_path(pk) == v && Packet_ptr(pk)->path == RREF_NULL);
	CHECK(Packet_take_path(pk) == RREF_NULL);
	CHECK(Packet_free(pk) == 0); /* and with it n and a */
	CHECK(!idx(n) && !idx(a) && idx(v));
}

static void case_proxies(void)
{
	struct BlockDevice_ref dev = client_setup("membdev");
	CHECK(BlockDevice_init(&dev, 16, 512) == 16 * 512);
	CHECK(doms[dev.domain].last_word == 0);
	rref_t q = requests(3, 1);
	CHECK(BlockDevice_submit(&dev, q) == 3);
	CHECK(doms[dev.domain].last_word == (1 | XCALL_BORROW(0)));
	CHECK(heap[idx(q)].owner == current && heap[idx(q)].borrows == 0);
	CHECK(BlockReq_ptr(BlockReq_deque32_get(q, 2))->status == 0);
	CHECK(BlockDevice_stats(&dev) == 3);
	CHECK(BlockDevice_bind(&dev, "nobody") == -MAPLE_ESRCH);
	struct BlockDevice_ref bad;
	CHECK(BlockDevice_bind(&bad, "membdev") == 0 && bad.domain == dev.domain);
	CHECK(maple_domain_create("bad") == -MAPLE_EINVAL);
}

/* every.idl: words with moves, borrows and RRef results, and the
 * trampolines' conversions of narrow arguments. */
static long ev_seen[4];

static long ev_configure(uint8_t a, int8_t b, bool c, uint64_t d)
{
	ev_seen[0] = a, ev_seen[1] = b, ev_seen[2] = c, ev_seen[3] = (long)d;
	return 0;
}

static long ev_reset(void)
{
	return 7;
}

static long ev_give(rref_t p)
{
	return heap[idx(p)].owner == current ? (long)Packet_free(p) : -1;
}

static long ev_look(rref_t p, rref_t q)
{
	return (long)Packet_ptr(p)->len + Node_deque16_len(q);
}

static long ev_make(uint32_t size, rref_t *out)
{
	*out = Node_alloc();
	Node_ptr(*out)->value = size;
	return 0;
}

static long ev_swap(rref_t a, rref_t v, int32_t k, rref_t *out)
{
	*out = a;
	return u16_vec64_len(v) + k;
}

static long every_main(void)
{
	static const struct Everything_impl impl = {ev_configure, ev_reset, ev_give,
						    ev_look,	  ev_make,  ev_swap};
	return Everything_export(&impl);
}

static const struct image every_images[] = {{"everything_driver", every_main}, {NULL, NULL}};

static void case_every(void)
{
	images = every_images;
	current = dom_next++;
	doms[current].name = "client";
	doms[current].alive = true;
	struct Everything_ref e;
	CHECK(create_everything_driver(&e) == 0);
	CHECK(Everything_configure(&e, 200, -5, true, 1ul << 40) == 0);
	CHECK(ev_seen[0] == 200 && ev_seen[1] == -5 && ev_seen[2] == 1 && ev_seen[3] == 1l << 40);
	/* A caller that passes junk in the upper bits still gives the callee its types. */
	CHECK(maple_xcall(e.domain, Everything_configure_WORD, 0x1ff, 0x1fb, 2, 0) == 0);
	CHECK(ev_seen[0] == 0xff && ev_seen[1] == -5 && ev_seen[2] == 1);
	CHECK(Everything_reset(&e) == 7);

	rref_t p = Packet_alloc();
	Packet_ptr(p)->len = 40;
	rref_t q = Node_deque16_alloc();
	CHECK(Node_deque16_push(q, Node_alloc()) == 0);
	CHECK(Everything_look(&e, p, q) == 41);
	CHECK(doms[e.domain].last_word == (3 | XCALL_BORROW(0) | XCALL_BORROW(1)));
	CHECK(Everything_give(&e, p) == 0);
	CHECK(doms[e.domain].last_word == (2 | XCALL_MOVE(0)));
	CHECK(Everything_give(&e, p) == -MAPLE_EPERM); /* not ours any more */

	rref_t n = RREF_NULL;
	CHECK(Everything_make(&e, 99, &n) == 0 && n && Node_ptr(n)->value == 99);
	CHECK(heap[idx(n)].owner == current);
	CHECK(doms[e.domain].last_word == (4 | XCALL_RESULT_RREF));

	rref_t a = Node_array4_alloc(), v = u16_vec64_alloc(), back = RREF_NULL;
	CHECK(u16_vec64_push(v, 1) == 0);
	CHECK(Everything_swap(&e, a, v, 10, &back) == 0 && back == a);
	CHECK(heap[idx(a)].owner == current);
	CHECK(doms[e.domain].last_word ==
	      (5 | XCALL_MOVE(0) | XCALL_BORROW(1) | XCALL_RESULT_RREF));
}

/* ---- shadows ---- */

static struct BlockDevice_ref shadowed(uint64_t *driver)
{
	struct BlockDevice_ref dev = client_setup("bdev_shadow");
	CHECK(BlockDevice_init(&dev, 8, 4096) == 8 * 4096);
	*driver = (uint64_t)maple_lookup("membdev");
	return dev;
}

static void case_shadow_restart(void)
{
	uint64_t driver;
	struct BlockDevice_ref dev = shadowed(&driver);
	rref_t q = requests(4, 1);
	CHECK(BlockDevice_submit(&dev, q) == 4);
	CHECK(doms[driver].last_word == (1 | XCALL_BORROW(0))); /* forwarded as a borrow */

	doms[driver].crash_at = BlockDevice_submit_METHOD;
	rref_t r = requests(2, 0);
	CHECK(BlockDevice_submit(&dev, r) == 2); /* restarted, init replayed, retried */
	uint64_t now = (uint64_t)maple_lookup("membdev");
	CHECK(now != driver && doms[now].alive && !doms[driver].alive && destroys == 1);
	CHECK(dev_inits == 2 && dev_blocks == 8 && dev_block_size == 4096);
	CHECK(heap[idx(r)].owner == current && heap[idx(r)].borrows == 0);
	for (uint32_t i = 0; i < 2; i++)
		CHECK(BlockReq_ptr(BlockReq_deque32_get(r, i))->status == 0);

	struct BlockDevice_shadow_stats st;
	BlockDevice_shadow_get_stats(&st);
	CHECK(st.driver == now && st.restarts == 1 && st.replayed == 1 && st.retries == 1);
	CHECK(st.log_len == 1);

	doms[now].crash_at = BlockDevice_stats_METHOD; /* not idempotent: no retry */
	CHECK(BlockDevice_stats(&dev) == -MAPLE_ECALLEE);
	uint64_t third = (uint64_t)maple_lookup("membdev");
	CHECK(third != now && doms[third].alive && dev_inits == 3);
	CHECK(BlockDevice_stats(&dev) == 0);
}

static void case_shadow_dead_driver(void)
{
	uint64_t driver;
	struct BlockDevice_ref dev = shadowed(&driver);
	CHECK(maple_domain_destroy(driver) == 0); /* killed between calls */
	/* Found dead (-MAPLE_EDEAD): no part of it ran, so after the restart
	 * the shadow sends it again, @idempotent or not. */
	CHECK(BlockDevice_stats(&dev) == 0 && dev_inits == 2);
	CHECK(maple_domain_destroy((uint64_t)maple_lookup("membdev")) == 0);
	crash_next_created = BlockDevice_init_METHOD; /* replaying into the next one crashes it */
	CHECK(BlockDevice_stats(&dev) == 0 && dev_inits == 3);
	struct BlockDevice_shadow_stats st;
	BlockDevice_shadow_get_stats(&st);
	CHECK(st.restarts == 3 && st.replayed == 2 && st.log_len == 1 && st.retries == 2);
	CHECK(BlockDevice_init(&dev, 4, 512) == 4 * 512); /* forwarded and recorded, */
	BlockDevice_shadow_get_stats(&st);
	CHECK(st.log_len == 1 && st.replayed == 2); /* in the first init's place (@resets) */
}

static void case_shadow_retries_bounded(void)
{
	uint64_t driver;
	struct BlockDevice_ref dev = shadowed(&driver);
	doms[driver].crash_at = BlockDevice_submit_METHOD;
	crash_new_at = BlockDevice_submit_METHOD; /* and so does every new driver */
	rref_t q = requests(1, 0);
	CHECK(BlockDevice_submit(&dev, q) == -MAPLE_ECALLEE);
	CHECK(heap[idx(q)].owner == current && heap[idx(q)].borrows == 0);
	struct BlockDevice_shadow_stats st;
	BlockDevice_shadow_get_stats(&st);
	CHECK(st.retries == BlockDevice_SHADOW_RETRIES);
	CHECK(st.restarts == BlockDevice_SHADOW_RETRIES + 1);

	images = (const struct image[]){{"bdev_shadow", shadow_main}, {NULL, NULL}};
	CHECK(BlockDevice_submit(&dev, q) == -MAPLE_ECALLEE); /* no image to restart from */
	CHECK(BlockDevice_stats(&dev) == -MAPLE_EDEAD);	      /* and still none */
}

/* A new driver that fails during its own start is started again, within
 * the bound; the client's retried request never notices. */
static void case_shadow_start_fails(void)
{
	uint64_t driver;
	struct BlockDevice_ref dev = shadowed(&driver);
	doms[driver].crash_at = BlockDevice_submit_METHOD;
	starts_to_fail = BlockDevice_SHADOW_RESTARTS - 1;
	rref_t q = requests(2, 1);
	CHECK(BlockDevice_submit(&dev, q) == 2);
	CHECK(starts_to_fail == 0 && dev_inits == 2);
	struct BlockDevice_shadow_stats st;
	BlockDevice_shadow_get_stats(&st);
	CHECK(st.restarts == 1 && st.retries == 1);

	uint64_t now = (uint64_t)maple_lookup("membdev");
	doms[now].crash_at = BlockDevice_submit_METHOD;
	starts_to_fail = BlockDevice_SHADOW_RESTARTS; /* every attempt fails: give up */
	CHECK(BlockDevice_submit(&dev, q) == -MAPLE_ECALLEE);
	CHECK(starts_to_fail == 0);
	CHECK(BlockDevice_submit(&dev, q) == 2); /* the next call starts one again */
}

/* init is @resets: one that succeeds takes the whole log's place, so no
 * number of them fills it (before, the 64th and every later one failed
 * -MAPLE_ENOMEM without reaching the driver), a failed one leaves the log
 * as it was, and a restart replays the last that succeeded. */
static void case_shadow_log_resets(void)
{
	uint64_t driver;
	struct BlockDevice_ref dev = shadowed(&driver);
	for (int i = 0; i < 2 * BlockDevice_SHADOW_LOG_MAX; i++)
		CHECK(BlockDevice_init(&dev, 1 + (uint64_t)i % 3, 512) == (1 + i % 3) * 512);
	CHECK(BlockDevice_init(&dev, 99, 512) == -MAPLE_EINVAL); /* refused: not recorded */
	struct BlockDevice_shadow_stats st;
	BlockDevice_shadow_get_stats(&st);
	CHECK(st.log_len == 1 && dev_blocks == 2);
	doms[driver].crash_at = BlockDevice_stats_METHOD;
	CHECK(BlockDevice_stats(&dev) == -MAPLE_ECALLEE);
	BlockDevice_shadow_get_stats(&st);
	CHECK(st.restarts == 1 && st.replayed == 1 && dev_blocks == 2 && dev_block_size == 512);
}

/* A checked shadow: an answer found wrong takes the crash path (destroy,
 * create, replay) and the call is sent again; WRONG_FAIL restarts but
 * returns what check made of the result; begin's error never reaches the
 * driver; end sees the client's result. */
static void case_shadow_checks(void)
{
	struct BlockDevice_ref dev = client_setup("bdev_shadow_checked");
	CHECK(BlockDevice_init(&dev, 8, 4096) == 8 * 4096);
	uint64_t driver = (uint64_t)maple_lookup("membdev");
	rref_t q = requests(3, 1);
	verdicts[0] = BlockDevice_SHADOW_WRONG_REDO;
	nverdicts = 1;
	checked = ended = 0;
	CHECK(BlockDevice_submit(&dev, q) == 3);
	uint64_t now = (uint64_t)maple_lookup("membdev");
	CHECK(now != driver && !doms[driver].alive && destroys == 1 && dev_inits == 2);
	CHECK(checked == 2 && ended == 1 && end_result == 3);
	struct BlockDevice_shadow_stats st;
	BlockDevice_shadow_get_stats(&st);
	CHECK(st.wrong == 1 && st.restarts == 1 && st.retries == 1 && st.replayed == 1);

	verdicts[0] = BlockDevice_SHADOW_WRONG_FAIL;
	nverdicts = 1;
	CHECK(BlockDevice_submit(&dev, q) == -MAPLE_EIO); /* restarted, not sent again */
	CHECK((uint64_t)maple_lookup("membdev") != now && destroys == 2 &&
	      end_result == -MAPLE_EIO);
	BlockDevice_shadow_get_stats(&st);
	CHECK(st.wrong == 2 && st.restarts == 2 && st.retries == 1);

	for (int i = 0; i < 4; i++) /* wrong every time: the last attempt fails */
		verdicts[i] = BlockDevice_SHADOW_WRONG_REDO;
	nverdicts = 4;
	CHECK(BlockDevice_submit(&dev, q) == -MAPLE_EIO);
	BlockDevice_shadow_get_stats(&st);
	CHECK(st.wrong == 6 && st.retries == 1 + BlockDevice_SHADOW_RETRIES && nverdicts == 0);

	uint64_t done = dev_done;
	begin_error = -MAPLE_ENOMEM;
	CHECK(BlockDevice_submit(&dev, q) == -MAPLE_ENOMEM && dev_done == done);
	CHECK(end_result == -MAPLE_ENOMEM);
	begin_error = 0;

	now = (uint64_t)maple_lookup("membdev");
	doms[now].crash_at = BlockDevice_submit_METHOD; /* a crash: check sees it, RIGHT */
	checked = 0;
	CHECK(BlockDevice_submit(&dev, q) == 3 && checked == 2);
	BlockDevice_shadow_get_stats(&st);
	CHECK(st.wrong == 6);

	/* begin replaces the deque: the driver serves the shadow's 5 requests,
	 * on every attempt (a crash, then the retry), never the client's 3. */
	swap_n = 5;
	now = (uint64_t)maple_lookup("membdev");
	doms[now].crash_at = BlockDevice_submit_METHOD;
	checked = 0;
	BlockReq_ptr(BlockReq_deque32_get(q, 0))->status = 7;
	CHECK(BlockDevice_submit(&dev, q) == 5 && checked == 2);
	CHECK(BlockReq_ptr(BlockReq_deque32_get(swapped, 4))->status == 0);
	CHECK(BlockReq_ptr(BlockReq_deque32_get(q, 0))->status == 7); /* the client's untouched */
	swap_n = 0;
}

static const struct {
	const char *name;
	void (*fn)(void);
} cases[] = {
	{"deque", case_deque},
	{"array_vec_fields", case_array_vec_fields},
	{"proxies", case_proxies},
	{"every", case_every},
	{"shadow_restart", case_shadow_restart},
	{"shadow_dead_driver", case_shadow_dead_driver},
	{"shadow_retries_bounded", case_shadow_retries_bounded},
	{"shadow_start_fails", case_shadow_start_fails},
	{"shadow_log_resets", case_shadow_log_resets},
	{"shadow_checks", case_shadow_checks},
};

int main(int argc, char **argv)
{
	map_gate();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (argc == 2 && !strcmp(argv[1], cases[i].name)) {
			cases[i].fn();
			printf("ok %s\n", cases[i].name);
			return 0;
		}
	}
	printf("usage: host CASE\n");
	return 2;
}
