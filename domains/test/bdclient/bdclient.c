/*
 * bdclient: drives a BlockDevice, normally through its shadow (bdclient.h).
 * This file holds the methods, the worker thread, the device binding and
 * the requests; workload.c the batches and their checks.
 */
#include <test/bdclient/bdclient.h>
#include <test/bdclient/workload.h>

static struct bdc bdc;
static uint32_t busy; /* a worker runs, or is being started */

static struct job {
	long method; /* BdClient_start_METHOD or BdClient_throughput_METHOD */
	long a, b;
} job;

/* The deque and its BDC_BATCH requests, once: they outlive workloads. */
static long alloc_requests(void)
{
	if (bdc.queue)
		return 0;
	rref_t q = BlockReq_deque32_alloc();
	if (!q)
		return -MAPLE_ENOMEM;
	for (bdc.nspare = 0; bdc.nspare < BDC_BATCH; bdc.nspare++) {
		bdc.spare[bdc.nspare] = BlockReq_alloc();
		if (!bdc.spare[bdc.nspare]) {
			while (bdc.nspare)
				BlockReq_free(bdc.spare[--bdc.nspare]);
			BlockReq_deque32_free(q);
			return -MAPLE_ENOMEM;
		}
	}
	for (uint32_t b = 0; b < BDC_BLOCKS; b++)
		bdc.gen[b] = GEN_UNKNOWN;
	bdc.salt = maple_clock_ns() | 1;
	bdc.rng = bdc.salt;
	bdc.queue = q;
	return 0;
}

/* Use device (0: the shadow by name, membdev's or else the NVMe driver's),
 * sizing it if it is new to us. The blocks' known contents stay valid while
 * the device's medium does (ramdisk0, or the NVMe namespace). */
static long bind(long device)
{
	struct BlockDevice_ref ref = {.domain = (uint64_t)device};
	if (!device) {
		long r = BlockDevice_bind(&ref, "bdev_shadow");
		if (r < 0)
			r = BlockDevice_bind(&ref, "nvme_shadow");
		if (r < 0)
			return r;
	}
	if (bdc.bound && ref.domain == bdc.dev.domain)
		return 0;
	long r = BlockDevice_init(&ref, BDC_BLOCKS, BDC_BLOCK_SIZE);
	if (r < 0)
		return r;
	if (r != (long)BDC_BLOCKS * BDC_BLOCK_SIZE)
		return -MAPLE_EINVAL;
	bdc.dev = ref;
	bdc.bound = true;
	return 0;
}

static void worker(void *arg)
{
	struct job *j = arg;
	if (j->method == BdClient_start_METHOD)
		workload_verify(&bdc, j->a, j->b);
	else
		workload_throughput(&bdc, (uint32_t)j->a, j->b);
	__atomic_store_n(&bdc.stat[BDC_RUNNING], 0, __ATOMIC_RELEASE);
	__atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
}

static long begin(long method, long a, long b, long device)
{
	if (__atomic_exchange_n(&busy, 1, __ATOMIC_ACQUIRE))
		return -MAPLE_EINVAL;
	long r = alloc_requests();
	if (r >= 0)
		r = bind(device);
	if (r >= 0) {
		for (int i = 0; i < BdcStat_COUNT; i++)
			__atomic_store_n(&bdc.stat[i], 0, __ATOMIC_RELAXED);
		__atomic_store_n(&bdc.stop, false, __ATOMIC_RELAXED);
		__atomic_store_n(&bdc.stat[BDC_RUNNING], 1, __ATOMIC_RELEASE);
		job = (struct job){.method = method, .a = a, .b = b};
		r = maple_thread_create(worker, &job);
		if (r >= 0)
			return 0;
		__atomic_store_n(&bdc.stat[BDC_RUNNING], 0, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
	return r;
}

static long start(long ops, long write_percent, long device)
{
	if (ops < 0 || write_percent < 0 || write_percent > 100 || device < 0)
		return -MAPLE_EINVAL;
	return begin(BdClient_start_METHOD, ops, write_percent, device);
}

static long throughput(long op, long ms, long device)
{
	if ((op != BDC_OP_READ && op != BDC_OP_WRITE) || ms <= 0 || device < 0)
		return -MAPLE_EINVAL;
	return begin(BdClient_throughput_METHOD, op, ms, device);
}

static long stat(long which)
{
	if (which < 0 || which >= BdcStat_COUNT)
		return -MAPLE_EINVAL;
	return (long)__atomic_load_n(&bdc.stat[which], __ATOMIC_ACQUIRE);
}

static long stop(void)
{
	__atomic_store_n(&bdc.stop, true, __ATOMIC_RELEASE);
	return 0;
}

long domain_main(long arg)
{
	(void)arg;
	const uint64_t methods[] = {
		[BdClient_start_METHOD] = MAPLE_METHOD(start),
		[BdClient_stat_METHOD] = MAPLE_METHOD(stat),
		[BdClient_throughput_METHOD] = MAPLE_METHOD(throughput),
		[BdClient_stop_METHOD] = MAPLE_METHOD(stop),
	};
	/* Indexed by the numbers idlc generated: a method missing here fails the build. */
	_Static_assert(DOM_ARRAY_LEN(methods) == BdClient_METHODS,
		       "BdClient: every method exported");
	return maple_export(methods, DOM_ARRAY_LEN(methods));
}
