/*
 * bench=net's client loop (loop.h). POOL buffers and one batch are
 * allocated once per domain and reused; each TX frame is built once (a
 * broadcast frame of the IEEE local experimental ethertype) and sent again
 * as it comes back, left where the driver returns it (the batch's TX
 * deque), so the loop measures the path to the device, not the building
 * of frames nor the client's own bookkeeping, as pktgen's clone_skb does
 * on Linux.
 *
 * A call posts up to `batch` TX frames (NBD_TX, NBD_ECHO) and up to `batch`
 * empty RX buffers (NBD_RX, NBD_ECHO), with at most TX_HELD and RX_HELD in
 * the driver's hands at a time. What comes back
 * is counted: TX buffers the driver returns as sent, RX buffers it returns
 * filled, with status 0 both. Only the window of `ms` is timed.
 *
 * A driver may crash under the loop (bench=net_crash strikes it behind its
 * shadow): the call then fails with -MAPLE_ECALLEE (or kin) and the batch
 * went with the driver. Every buffer and the batch are recalled
 * (rref_recall), so the kernel gives what the dead driver held back to this
 * domain after the device stopped; the loop takes stock (recover()), counts
 * any buffer not back as lost, and goes on with a new batch. A driver that
 * dies between calls fails no call: take_back() finds what it held.
 */
#include <test/lib/bench_run.h>
#include <test/lib/net_client.h>
#include <test/netbench/loop.h>

#define POOL	       160
#define RX_HELD	       64 /* under virtio-net's 128-buffer rings: a batch over */
#define TX_HELD	       96 /* the free room would be refused (-MAPLE_ENOMEM) */
#define MIN_FRAME      60
#define MAX_FRAME      1514
#define ETHERTYPE      0x88b5
#define RECALL_WAIT_NS 100000000ULL
#define STALL_NS       10000000ULL   /* nothing posted nor back this long: take_back() */
#define LINK_WAIT_NS   3000000000ULL /* igb: autonegotiation, about 500 ms on QEMU's model */

static struct {
	struct nb_target target;
	long dir, batch, ms;
} run;
static uint64_t stat[NetBenchStat_COUNT];
static struct bench_run bench = BENCH_RUN(stat, NBS_RUNNING, NBS_NS, NBS_ERRORS);

static uint32_t frame_len = MIN_FRAME;
static rref_t pool[POOL], batch;
static uint32_t nfree, npool, built_len;
/* Buffers in the driver's hands, across runs: a run that ends leaves its
 * frames in flight with the driver (the next run of the same domain,
 * bench=net_crash's second phase, must not post past the rings). */
static uint32_t rx_out, tx_out;
static long batch_info; /* rref_info of the old batch at the last recover() */

static rref_t all[POOL]; /* every buffer allocated and not lost */

/*
 * After a crash: every buffer still alive is ours again (recalled), nested
 * in the old batch or a root; unnest them all and drop the old batch (a
 * driver dying inside a deque push may have left its words half-written,
 * as netclient found). The call fails as soon as the driver does, but the
 * kernel gives recalled RRefs back only once it has confirmed the device
 * stopped: until then they are someone else's (rref_info -MAPLE_EPERM), so
 * wait up to RECALL_WAIT_NS for them (short: it is taken from the window). A buffer that is gone
 * (freed with the driver) or never came back is lost. Returns how many were lost.
 */
static uint32_t recover(void)
{
	uint64_t deadline = maple_clock_ns() + RECALL_WAIT_NS;
	for (;;) {
		bool away = batch && rref_info(batch) == -MAPLE_EPERM;
		for (uint32_t i = 0; i < npool && !away; i++)
			away = rref_info(all[i]) == -MAPLE_EPERM;
		if (!away || maple_clock_ns() > deadline)
			break;
		maple_sleep_ns(1000000);
	}
	if (batch && rref_info(batch) >= 0) {
		struct NetBatch *b = NetBatch_ptr(batch);
		while (NetPacket_deque32_pop(b->tx) != RREF_NULL)
			;
		while (NetPacket_deque32_pop(b->rx) != RREF_NULL)
			;
	}
	uint32_t kept = 0;
	for (uint32_t i = 0; i < npool; i++) {
		if (rref_info(all[i]) < 0)
			continue;
		rref_unnest(all[i]); /* fails, harmlessly, for a root */
		all[kept] = pool[kept] = all[i];
		kept++;
	}
	batch_info = batch ? rref_info(batch) : -MAPLE_EINVAL;
	if (batch_info >= 0)
		rref_free(batch);
	batch = RREF_NULL;
	uint32_t lost = npool - kept;
	npool = nfree = kept;
	rx_out = tx_out = 0;
	return lost;
}

/*
 * A driver that dies between two calls is restarted by its shadow, which
 * sends the next call to the new instance: no call fails, but the buffers
 * the old one held come back to this domain recalled, not in a batch. Then
 * tx_out and rx_out count buffers the driver no longer holds, and the loop,
 * believing its rings full, would post nothing again (bench=net_crash saw
 * it: 0 frames a bin to the end of the run, the strikes stopping as the new
 * instance never served). Called once calls have posted nothing and brought
 * nothing back for STALL_NS, which a serving driver seldom allows (so the
 * walk, a syscall a buffer, costs the measurement nothing), with both
 * deques empty: every buffer of ours not in the pool is taken back into
 * it, and one that is gone (freed with the old driver) is lost. tx_out and
 * rx_out become what the driver still holds: exactly for a run one way;
 * for an echo run, each at most what is away, so never below what the
 * driver holds. Returns how many were lost.
 */
static uint32_t take_back(bool tx, bool rx)
{
	uint32_t kept = 0, away = 0;
	for (uint32_t i = 0; i < npool; i++) {
		rref_t r = all[i];
		bool in_pool = false;
		for (uint32_t k = 0; k < nfree && !in_pool; k++)
			in_pool = pool[k] == r;
		long info = in_pool ? 0 : rref_info(r);
		if (info == -MAPLE_EPERM) {
			away++; /* the driver's */
		} else if (info < 0) {
			continue; /* gone with the old driver */
		} else if (!in_pool) {
			rref_unnest(r); /* fails, harmlessly, for a root */
			pool[nfree++] = r;
		}
		all[kept++] = r;
	}
	uint32_t lost = npool - kept;
	npool = kept;
	tx_out = !tx ? 0 : !rx ? away : tx_out < away ? tx_out : away;
	rx_out = !rx ? 0 : !tx ? away : rx_out < away ? rx_out : away;
	return lost;
}

static bool crash_error(long r)
{
	return r == -MAPLE_ECALLEE || r == -MAPLE_EDEAD || r == -MAPLE_ETIMEDOUT;
}

/* The pool and the batch, once; every buffer built as a frame of len. */
static long alloc_buffers(uint32_t len)
{
	if (!batch) {
		long e = net_client_batch(&batch);
		if (e < 0)
			return e;
		for (nfree = 0; nfree < POOL; nfree++) {
			if (!(pool[nfree] = NetPacket_alloc()) || rref_recall(pool[nfree]) < 0)
				return -MAPLE_ENOMEM;
			all[nfree] = pool[nfree];
		}
		npool = POOL;
	}
	if (built_len != len) {
		for (uint32_t i = 0; i < nfree; i++) {
			struct NetPacket *p = NetPacket_ptr(pool[i]);
			__builtin_memset(p->data, 0xff, 6);	/* broadcast */
			__builtin_memset(p->data + 6, 0x02, 6); /* locally administered */
			p->data[12] = ETHERTYPE >> 8;
			p->data[13] = ETHERTYPE & 0xff;
			for (uint32_t j = 14; j < len; j++)
				p->data[j] = (uint8_t)j;
		}
		built_len = len;
	}
	return 0;
}

static void worker(void *arg)
{
	(void)arg;
	/* Here, not in bench(): building 160 frames can outlast the call
	 * watchdog under TCG. Every buffer must be back (in the pool) to be
	 * rebuilt: a run always starts on a fresh domain (kernel/bench/net.c). */
	if (alloc_buffers(frame_len) < 0) {
		dom_printf("netbench: no memory for the benchmark's buffers");
		bench_run_end(&bench, 1);
		return;
	}
	/* Untimed too: a NIC started for this measurement may not have its
	 * link yet (igb's PHY autonegotiates), and without one it neither
	 * sends nor receives: the window would measure the wait. */
	uint64_t link_deadline = maple_clock_ns() + LINK_WAIT_NS;
	while (run.target.link(run.target.device) != 1 && maple_clock_ns() < link_deadline)
		maple_sleep_ns(10000000);
	bool tx = run.dir != NBD_RX, rx = run.dir != NBD_TX;
	uint32_t per = (uint32_t)run.batch;
	uint64_t pkts = 0, errors = 0, crashes = 0, lost = 0;
	uint64_t end = bench_run_window(&bench, run.ms), now, quiet_since = bench.t0;
	while ((now = maple_clock_ns()) < end) {
		struct NetBatch *b = NetBatch_ptr(batch);
		/* The TX buffers the last call gave back are still in the
		 * deque and go out again as they are (no pop and push: two
		 * syscalls a frame less); past `per` (batch 1) they go back
		 * to the pool, and the pool tops the deque up to `per`. */
		uint32_t queued = NetPacket_deque32_len(b->tx);
		for (rref_t x; queued > per && (x = NetPacket_deque32_pop(b->tx)); queued--)
			pool[nfree++] = x;
		for (; tx && queued < per && nfree && tx_out + queued < TX_HELD; queued++) {
			NetPacket_ptr(pool[nfree - 1])->len = frame_len;
			if (NetPacket_deque32_push(b->tx, pool[nfree - 1]) < 0)
				break;
			nfree--;
		}
		tx_out += queued;
		uint32_t posted = queued;
		for (uint32_t i = 0; rx && i < per && nfree && rx_out < RX_HELD; i++) {
			if (NetPacket_deque32_push(b->rx, pool[nfree - 1]) < 0)
				break;
			nfree--;
			rx_out++;
			posted++;
		}
		rref_t back = RREF_NULL;
		long r = run.target.submit(run.target.device, batch, &back);
		if (crash_error(r)) {
			crashes++;
			uint32_t gone = recover();
			if (gone)
				dom_printf("netbench: crash %lu: %u buffers did not come back (the "
					   "batch: rref_info %ld)",
					   crashes, gone, batch_info);
			lost += gone;
			__atomic_store_n(&stat[NBS_CRASHES], crashes, __ATOMIC_RELAXED);
			__atomic_store_n(&stat[NBS_LOST], lost, __ATOMIC_RELAXED);
			if (net_client_batch(&batch) < 0) {
				dom_printf("netbench: no memory for a new batch after a crash");
				errors++;
				break;
			}
			continue;
		}
		if (r < 0 || !back) {
			dom_printf("netbench: submit_and_poll returned %ld; run ended", r);
			errors++;
			break; /* the batch went with the driver */
		}
		batch = back;
		b = NetBatch_ptr(batch);
		/* A refused batch comes back whole (nothing posted): its buffers
		 * are ours again. Else every buffer that comes back is one the
		 * driver held: a sent frame, or a received one. */
		if (b->status)
			errors++;
		uint32_t sent = NetPacket_deque32_len(b->tx);
		tx_out -= sent;
		for (uint32_t i = 0; i < sent && !b->status && !rx; i++)
			if (!NetPacket_ptr(NetPacket_deque32_get(b->tx, i))->status)
				pkts++;
		rref_t p;
		uint32_t received = 0;
		while ((p = NetPacket_deque32_pop(b->rx)) != RREF_NULL) {
			rx_out--;
			received++;
			if (!b->status && !NetPacket_ptr(p)->status)
				pkts++;
			pool[nfree++] = p;
		}
		__atomic_store_n(&stat[NBS_PKTS], pkts, __ATOMIC_RELAXED);
		if (posted || sent || received) {
			quiet_since = now;
		} else if (tx_out + rx_out && now - quiet_since > STALL_NS) {
			lost += take_back(tx, rx);
			__atomic_store_n(&stat[NBS_LOST], lost, __ATOMIC_RELAXED);
			quiet_since = now;
		}
	}
	bench_run_window_end(&bench);
	/* Untimed: what the batch still holds goes back to the pool, where
	 * the next run of this domain (rebuilding frames) expects it. */
	rref_t p;
	while (batch && (p = NetPacket_deque32_pop(NetBatch_ptr(batch)->tx)) != RREF_NULL)
		pool[nfree++] = p;
	bench_run_end(&bench, errors);
}

/* NetBench.frame(): the length of the frames the next run sends. */
static long nb_frame(long len)
{
	if (len < MIN_FRAME || len > MAX_FRAME || bench_run_busy(&bench))
		return -MAPLE_EINVAL;
	frame_len = (uint32_t)len;
	return 0;
}

long nb_bench_start(const struct nb_target *target, long dir, long batch_len, long ms)
{
	if (dir < 0 || dir >= NetDir_COUNT || (batch_len != 1 && batch_len != 32) || ms <= 0)
		return -MAPLE_EINVAL;
	long r = bench_run_claim(&bench);
	if (r < 0)
		return r;
	run.target = *target;
	run.dir = dir;
	run.batch = batch_len;
	run.ms = ms;
	return bench_run_start(&bench, worker);
}

/* NetBench.result(): one counter of the latest run. */
static long nb_bench_result(long which)
{
	return bench_run_result(&bench, which);
}

long nb_export(long (*bench_fn)(long device, long dir, long batch, long ms))
{
	const uint64_t methods[] = {
		[NetBench_frame_METHOD] = MAPLE_METHOD(nb_frame),
		[NetBench_bench_METHOD] = MAPLE_METHOD(bench_fn),
		[NetBench_result_METHOD] = MAPLE_METHOD(nb_bench_result),
	};
	_Static_assert(DOM_ARRAY_LEN(methods) == NetBench_METHODS, "NetBench: every method");
	return maple_export(methods, DOM_ARRAY_LEN(methods));
}
