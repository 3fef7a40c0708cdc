/*
 * membdev: the in-memory block device driver (BlockDevice, domains/idl/
 * bdev.idl). Its medium is the software device "ramdisk0", whose memory
 * outlives the driver, so a membdev that a shadow re-creates after a crash
 * finds every block its predecessor wrote. Requests arrive in a borrowed
 * deque and are served in place: the driver keeps no request state, which is
 * what makes submit() safe to repeat after a crash.
 */
#include <block/block.h>
#include <idl/bdev.h>
#include <lib/string.h>
#ifdef MEMBDEV_INITFAIL
#include <block/membdev/initfail.h>
#endif

#define DEVICE "ramdisk0"

static uint8_t *disk;	    /* the mapped device; NULL until init */
static uint64_t disk_bytes; /* its size */
static uint64_t nblocks;    /* the geometry init chose */
static uint64_t block_size;
static uint64_t completed;  /* requests done since init */
static uint64_t started_ns; /* when this instance started */
static uint32_t served;	    /* its first request is done */

/* Map the device once: false if it cannot be. */
static bool map_device(void)
{
	if (disk)
		return true;
	uint64_t size;
	uint8_t *va = maple_device_map(DEVICE, &size);
	if (!va) {
		dom_printf("membdev: cannot map %s", DEVICE);
		return false;
	}
#ifdef MEMBDEV_INITFAIL
	size -= MEMBDEV_INITFAIL_RESERVED; /* the schedule's page: no block reaches it */
#endif
	disk = va;
	disk_bytes = size;
	return true;
}

static long init(uint64_t blocks, uint64_t bsize)
{
	if (!blocks || !bsize || bsize > sizeof(((struct BlockReq *)0)->data))
		return -MAPLE_EINVAL;
	if (!map_device())
		return -MAPLE_ENOMEM;
	if (blocks > disk_bytes / bsize)
		return -MAPLE_EINVAL; /* larger than the device */
	nblocks = blocks;
	block_size = bsize;
	completed = 0;
	return (long)(blocks * bsize);
}

#ifdef MEMBDEV_FORGET_NTH
/* The membdev_forgetful test image: whether to acknowledge this write, the
 * instance's MEMBDEV_FORGET_NTH-th, without storing it. */
static bool forget(uint64_t block)
{
	static uint32_t writes;
	if (++writes != MEMBDEV_FORGET_NTH)
		return false;
	dom_printf("membdev: acknowledging the write of block %lu without storing it",
		   (unsigned long)block);
	return true;
}
#endif

#ifdef MEMBDEV_MISPLACE_NTH
/* The membdev_misplacing test image: whether to store this write, the
 * instance's MEMBDEV_MISPLACE_NTH-th, over the block before it instead. */
static bool misplace(uint64_t block)
{
	static uint32_t writes;
	if (++writes != MEMBDEV_MISPLACE_NTH || !block)
		return false;
	dom_printf("membdev: writing block %lu over block %lu", (unsigned long)block,
		   (unsigned long)block - 1);
	return true;
}
#endif

#ifdef MEMBDEV_SCRIBBLE_NTH
/* The membdev_scribbling test image: after serving its
 * MEMBDEV_SCRIBBLE_NTH-th batch without a write that follows one with a
 * write (the shadow's read-back of that batch, bdev_check.c), point every
 * slot of the deque at the shared heap's last chunk, which no RRef uses: a
 * wrong driver's stray writes into a deque it was lent, landing as its
 * call returns. */
static void scribble(rref_t reqs, uint32_t n)
{
	static uint32_t batches;
	static bool wrote; /* the batch before had a write */
	bool writes = false;
	for (uint32_t i = 0; i < n; i++) {
		struct BlockReq *req = BlockReq_ptr(BlockReq_deque32_get(reqs, i));
		writes |= block_in_shared_heap((uint64_t)req, sizeof *req) && req->op == 1;
	}
	bool now = !writes && wrote && ++batches == MEMBDEV_SCRIBBLE_NTH;
	wrote = writes;
	if (!now)
		return;
	dom_printf("membdev: pointing the slots of the deque it served at an unmapped chunk");
	struct BlockReq_deque32 *d = BlockReq_deque32_ptr(reqs);
	for (uint32_t i = 0; i < BlockReq_deque32_CAP; i++)
		d->slots[i] =
			RREF_HANDLE(1, 0, SHARED_HEAP_VA + (SHARED_CHUNKS - 1) * SHARED_CHUNK);
}
#endif

#ifdef MEMBDEV_BUFSWAP
/*
 * The membdev_bufswap test image. After each submit of more than
 * BUFSWAP_FIRST requests (the shadow's copy of a client's batch: rogue's
 * case 452 sends only reads, so the shadow reads nothing back), a thread of
 * the driver keeps writing the handle of the first request's buffer into
 * the buf word of each request from BUFSWAP_FIRST on that names another
 * buffer, until the driver's next submit: a wrong driver's stray writes
 * into requests it was lent, landing after its call returned, while the
 * shadow gives those requests' buffers back (bdev_check.c's set_put, which
 * keeps the first RB_BUFS). Each write is a compare-and-exchange that keeps
 * the word it replaced, and each submit first parks the thread and puts
 * those words back, so the driver serves every request with the buffer the
 * shadow nested in it: only the shadow can be hurt. One client at a time.
 */
#define BUFSWAP_FIRST	8	     /* bdev_check.c's RB_BUFS */
#define BUFSWAP_IDLE_NS 200000000ULL /* the thread ends this long after the last submit */
#define BUFSWAP_PASSES	4096	     /* passes between its looks at the clock */

static struct {
	struct BlockReq *req[BlockReq_deque32_CAP]; /* the last large batch's */
	rref_t saved[BlockReq_deque32_CAP];	    /* the word each swap replaced */
	rref_t first;				    /* its first request's buffer */
	uint32_t n;
	uint32_t serving; /* a submit runs: the thread parks */
	uint32_t parked;
	uint32_t running; /* the thread exists */
	bool said;	  /* the instance's first swap is logged */
	uint64_t last_ns; /* the last submit's end */
} swap;

static void swapper(void *arg)
{
	(void)arg;
	for (uint64_t pass = 1;; pass++) {
		if (__atomic_load_n(&swap.serving, __ATOMIC_SEQ_CST)) {
			__atomic_store_n(&swap.parked, 1, __ATOMIC_SEQ_CST);
			while (__atomic_load_n(&swap.serving, __ATOMIC_SEQ_CST))
				__builtin_ia32_pause();
			__atomic_store_n(&swap.parked, 0, __ATOMIC_SEQ_CST);
			continue;
		}
		if (pass % BUFSWAP_PASSES == 0 &&
		    maple_clock_ns() - __atomic_load_n(&swap.last_ns, __ATOMIC_SEQ_CST) >
			    BUFSWAP_IDLE_NS)
			break;
		for (uint32_t i = BUFSWAP_FIRST; i < swap.n; i++) {
			rref_t was = __atomic_load_n(&swap.req[i]->buf, __ATOMIC_RELAXED);
			if (!was || was == swap.first ||
			    !__atomic_compare_exchange_n(&swap.req[i]->buf, &was, swap.first, false,
							 __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
				continue;
			swap.saved[i] = was;
			if (!swap.said) {
				swap.said = true;
				dom_printf("membdev: writing request 0's buffer into the buf word "
					   "of each later request of the shadow's copy after its "
					   "calls (request %u: %#lx over %#lx)",
					   i, (unsigned long)swap.first, (unsigned long)was);
			}
		}
	}
	__atomic_store_n(&swap.running, 0, __ATOMIC_SEQ_CST);
}

/* At a submit's start: the thread parked (or ended), every word it swapped
 * put back. */
static void swap_park(void)
{
	__atomic_store_n(&swap.serving, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&swap.running, __ATOMIC_SEQ_CST) &&
	       !__atomic_load_n(&swap.parked, __ATOMIC_SEQ_CST))
		__builtin_ia32_pause();
	for (uint32_t i = BUFSWAP_FIRST; i < swap.n; i++)
		if (__atomic_load_n(&swap.req[i]->buf, __ATOMIC_RELAXED) == swap.first)
			swap.req[i]->buf = swap.saved[i];
}

/* At its end: the batch it served is the thread's next target if it is
 * large, and the thread runs. */
static void swap_arm(rref_t reqs, uint32_t n)
{
	if (n > BUFSWAP_FIRST && n <= BlockReq_deque32_CAP) {
		uint32_t c = 0;
		for (; c < n; c++) {
			struct BlockReq *req = BlockReq_ptr(BlockReq_deque32_get(reqs, c));
			if (!block_in_shared_heap((uint64_t)req, sizeof *req))
				break;
			swap.req[c] = req;
		}
		swap.n = c == n ? n : 0;
		swap.first = swap.n ? __atomic_load_n(&swap.req[0]->buf, __ATOMIC_RELAXED) : 0;
	}
	__atomic_store_n(&swap.last_ns, maple_clock_ns(), __ATOMIC_SEQ_CST);
	uint32_t idle = 0;
	if (swap.n &&
	    __atomic_compare_exchange_n(&swap.running, &idle, 1, false, __ATOMIC_SEQ_CST,
					__ATOMIC_SEQ_CST) &&
	    maple_thread_create(swapper, NULL) < 0)
		__atomic_store_n(&swap.running, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&swap.serving, 0, __ATOMIC_SEQ_CST);
}
#endif

/* One request, in place: its status, 0 or -MAPLE_EINVAL. */
static int32_t serve(struct BlockReq *req)
{
	struct block_req q;
	if (block_req_read(req, nblocks, block_size, &q) < 0)
		return -MAPLE_EINVAL;
	/* membdev owns no RRef: what rref_bus accepts is lent (block.h) */
	uint8_t *bytes = block_req_bytes(req, q.count, q.offset, block_size, false);
	if (!bytes)
		return -MAPLE_EINVAL;
	uint8_t *where = disk + q.block * block_size;
#ifdef MEMBDEV_MISPLACE_NTH
	if (q.op && misplace(q.block))
		where -= block_size; /* the block before: acknowledged, and now overwritten */
#endif
	if (q.op == 0)
		memcpy(bytes, where, q.n * block_size);
#ifdef MEMBDEV_FORGET_NTH
	else if (forget(q.block))
		; /* acknowledged, not stored */
#endif
	else
		memcpy(where, bytes, q.n * block_size);
	return 0;
}

static long submit(rref_t reqs)
{
	if (!disk || !nblocks)
		return -MAPLE_EINVAL; /* init first */
	/* The trust boundary (drivers/block/block.h): the deque and each request
	 * RRef in it are the client's numbers in shared memory, touched only
	 * once block_in_shared_heap places them in the shared heap, and each
	 * request only through block_req_read's one copy of its fields. */
	if (!block_in_shared_heap((uint64_t)rref_ptr(reqs), sizeof(struct BlockReq_deque32)))
		return -MAPLE_EINVAL;
#ifdef MEMBDEV_BUFSWAP
	swap_park();
#endif
	uint32_t n = BlockReq_deque32_len(reqs);
	long done = 0;
	for (uint32_t i = 0; i < n; i++) {
		rref_t r = BlockReq_deque32_get(reqs, i);
		if (!block_in_shared_heap((uint64_t)rref_ptr(r), sizeof(struct BlockReq)))
			continue; /* no request to set a status in */
		struct BlockReq *req = BlockReq_ptr(r);
		int32_t status = serve(req);
		__atomic_store_n(&req->status, status, __ATOMIC_RELAXED);
		done += status == 0;
	}
#ifdef MEMBDEV_SCRIBBLE_NTH
	scribble(reqs, n);
#endif
#ifdef MEMBDEV_BUFSWAP
	swap_arm(reqs, n);
#endif
	__atomic_add_fetch(&completed, (uint64_t)done, __ATOMIC_RELAXED);
	/* One line per driver instance: with the kernel's line for a crash it
	 * times a restart, crash to serving again (bench/recovery). */
	if (done && !__atomic_exchange_n(&served, 1, __ATOMIC_RELAXED)) {
		dom_printf("membdev: serving, %lu us after start",
			   (unsigned long)((maple_clock_ns() - started_ns) / 1000));
#ifdef MEMBDEV_LINGER_NS
		/* The membdev_linger test image: stay inside the first request
		 * (after a restart, the one the shadow retries) with its work
		 * done and counted, the window docs/recovery.md describes. */
		maple_sleep_ns(MEMBDEV_LINGER_NS);
#endif
	}
	return done;
}

#ifdef MEMBDEV_INITFAIL
/* What a careless driver might follow: NULL (volatile, so the compiler
 * cannot tell), with `field` at MEMBDEV_INITFAIL_FAULT_VA. */
struct initfail_struct {
	uint64_t before[MEMBDEV_INITFAIL_FAULT_VA / 8];
	uint64_t field;
};
static struct initfail_struct *volatile initfail_nothing;
#endif

static long stats(void)
{
	return (long)__atomic_load_n(&completed, __ATOMIC_RELAXED);
}

/* A write is in ramdisk0 before submit returns: nothing is left to flush. */
static long flush(void)
{
	return disk ? 0 : -MAPLE_EINVAL;
}

static long capacity(void)
{
	return map_device() ? (long)disk_bytes : -MAPLE_ENOMEM;
}

/* Memory has no sector: init takes any block size up to a page. */
static long min_block(void)
{
	return 1;
}

long domain_main(long arg)
{
	(void)arg;
	started_ns = maple_clock_ns();
#ifdef MEMBDEV_INITFAIL
	/* The membdev_initfail test image: count this run in the reserved
	 * page, and crash with a real #PF unless the schedule says serve. */
	if (!map_device())
		return -MAPLE_ENOMEM;
	uint64_t *words = (uint64_t *)(disk + disk_bytes);
	uint64_t run = __atomic_fetch_add(&words[MEMBDEV_INITFAIL_RUNS], 1, __ATOMIC_RELAXED);
	uint64_t period = __atomic_load_n(&words[MEMBDEV_INITFAIL_PERIOD], __ATOMIC_RELAXED);
	if (period ? run % period : run)
		initfail_nothing->field = run; /* a null pointer's field: #PF */
#endif
	const struct BlockDevice_impl impl = {
		.init = init,
		.submit = submit,
		.stats = stats,
		.flush = flush,
		.capacity = capacity,
		.block_size = min_block,
	};
	return BlockDevice_export(&impl);
}
