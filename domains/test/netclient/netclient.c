/*
 * netclient: a Net client for the network ktests (domains/idl/netclient.idl,
 * kernel/ktest/net.c). It keeps every buffer it allocated accounted for:
 * in its hands (free[]), lent to the driver (given: moved in a batch and
 * not back yet), or dropped (lost with a crashed driver, which the kernel
 * freed with it), so a test can check that a crash neither leaks a buffer
 * nor leaves one owned twice. Every buffer and batch is recalled
 * (rref_recall), so what a crashed driver held comes back to it: after a
 * crash it takes stock of which of its buffers it owns again.
 *
 * receive() only receives, from a source outside (Linux's pktgen,
 * ci/groups/netrx.py), and checks each frame against pktgen's recipe
 * (pktgen.c) and its sequence numbers.
 */
#include <idl/net.h>
#include <idl/netclient_methods.h>
#include <test/lib/net_client.h>
#include <test/netclient/pktgen.h>

#define POOL	    96 /* buffers the client keeps: 64 receiving, 32 sending */
#define RX_TARGET   64
#define RECV_TARGET 120 /* receive(): nearly the whole ring (128) posted, as a burst may come */
#define MAX_FRAMES  8192
#define MIN_FRAME   60
#define MAX_FRAME   1514
#define ETHERTYPE   0x88b5 /* IEEE local experimental */
#define PAYLOAD	    22	   /* after dst, src, type, run, seq */
#define BAD_BUFFERS 192
#define RESEND_NS   1000000000ULL
#define WAIT_NS	    200000000ULL
#define IDLE_NS	    1000000ULL	   /* receive(): a pause when nothing came, not to spin */
#define QUIET_NS    20000000000ULL /* receive(): the source is done (its last frames lost) */
#define BAD_LOGGED  8		   /* receive(): frames refused that get a line each */

static struct Net_ref dev;
static bool started, shadowed, nullnet;
static rref_t free_bufs[POOL + BAD_BUFFERS];
static uint32_t nfree;
static rref_t all[POOL + BAD_BUFFERS]; /* every buffer allocated and not known gone */
static uint32_t nall;
static int64_t stats[NETC_DRIVER];
static uint32_t given; /* buffers in the driver's hands */
static rref_t probe;   /* one of them, RREF_NULL when none is known (recalled()) */
static rref_t batch;   /* ours between calls; RREF_NULL before the first */
static uint8_t mac[6];
static uint32_t run_id;
static uint8_t seen[MAX_FRAMES / 8];
static struct {
	long frames, len, ms, result;
	bool receive; /* receive() rather than traffic() */
	uint32_t busy;
} job;
/* receive(): the sender's MAC while a run goes on (else frames are ours,
 * check()), and the last frame verified, for flips_missed(). */
static bool receiving;
static uint8_t pg_src[6];
static uint8_t last_frame[MAX_FRAME];
static uint32_t last_len;

static long stock(uint32_t want)
{
	while ((uint64_t)(stats[NETC_ALLOCATED] - stats[NETC_DROPPED]) < want) {
		rref_t r = NetPacket_alloc();
		if (!r || nall == DOM_ARRAY_LEN(all))
			return -MAPLE_ENOMEM;
		if (rref_recall(r) < 0)
			return -MAPLE_EPERM;
		all[nall++] = r;
		free_bufs[nfree++] = r;
		stats[NETC_ALLOCATED]++;
	}
	stats[NETC_OWNED] = nfree;
	return 0;
}

static uint8_t pattern(uint32_t seq, uint32_t i)
{
	return (uint8_t)(seq * 31 + i * 7 + run_id);
}

static void build(struct NetPacket *p, uint32_t seq, uint32_t len)
{
	for (int i = 0; i < 6; i++)
		p->data[i] = p->data[6 + i] = mac[i];
	p->data[12] = ETHERTYPE >> 8;
	p->data[13] = ETHERTYPE & 0xff;
	__builtin_memcpy(&p->data[14], &run_id, 4);
	__builtin_memcpy(&p->data[18], &seq, 4);
	for (uint32_t i = PAYLOAD; i < len; i++)
		p->data[i] = pattern(seq, i);
	p->len = len;
}

/* A received frame: verified, stale (an earlier run) or bad. */
static void check(const struct NetPacket *p, long frames, uint32_t len)
{
	if (nullnet) {
		stats[p->status == 0 && p->len == MIN_FRAME ? NETC_VERIFIED : NETC_BAD]++;
		return;
	}
	uint32_t run, seq;
	__builtin_memcpy(&run, &p->data[14], 4);
	__builtin_memcpy(&seq, &p->data[18], 4);
	if (p->len >= PAYLOAD && run != run_id) {
		stats[NETC_STALE]++;
		return;
	}
	bool ok = p->status == 0 && p->len == len && seq < (uint32_t)frames &&
		  !(seen[seq / 8] & (1u << (seq % 8))) && p->data[12] == (ETHERTYPE >> 8) &&
		  !__builtin_memcmp(p->data, mac, 6);
	for (uint32_t i = PAYLOAD; ok && i < len; i++)
		ok = p->data[i] == pattern(seq, i);
	if (ok)
		seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
	stats[ok ? NETC_VERIFIED : NETC_BAD]++;
}

/* A frame from pktgen: verified (in order, or not), or refused, with a
 * line for the first few saying why. */
static void check_pktgen(const struct NetPacket *p)
{
	stats[NETC_RECEIVED]++;
	uint32_t seq = 0, len = p->len;
	enum pg_verdict v =
		len <= MAX_FRAME ? pktgen_check(p->data, len, mac, pg_src, &seq) : PG_LENGTH;
	if (p->status || v != PG_OK) {
		if (stats[NETC_BAD]++ < BAD_LOGGED)
			dom_printf("netclient: frame %ld (%u bytes, status %d) is not pktgen's: %s",
				   (long)stats[NETC_RECEIVED], len, p->status,
				   p->status ? "the driver's error" : pktgen_verdict_name(v));
		return;
	}
	stats[NETC_VERIFIED]++;
	if (seq <= (uint64_t)stats[NETC_LAST_SEQ]) {
		stats[NETC_REORDERED]++;
	} else {
		stats[NETC_LOST] += seq - stats[NETC_LAST_SEQ] - 1;
		stats[NETC_LAST_SEQ] = seq;
	}
	__builtin_memcpy(last_frame, p->data, len);
	last_len = len;
}

/*
 * After a call that did not give the batch back: which of the buffers out
 * (`out` of them: given to the driver, or in the batch) are ours again.
 * The kernel gives a dead driver's recalled RRefs back to their payer,
 * this domain, whole; anything else the driver held was freed with it.
 */
static void take_stock(uint32_t out)
{
	/* A driver that died inside a push may have nested a buffer in a
	 * deque without writing its slot: empty what the deques show, unnest
	 * every buffer of ours that is still nested anywhere, and drop the old
	 * batch (its deques' words may be half-written). */
	if (batch && rref_info(batch) >= 0) {
		struct NetBatch *b = NetBatch_ptr(batch);
		while (NetPacket_deque32_pop(b->tx) != RREF_NULL)
			;
		while (NetPacket_deque32_pop(b->rx) != RREF_NULL)
			;
	}
	uint32_t before = nfree, kept = 0;
	nfree = 0;
	for (uint32_t i = 0; i < nall; i++) {
		if (rref_info(all[i]) < 0)
			continue;    /* freed with the driver */
		rref_unnest(all[i]); /* fails, harmlessly, for a root */
		all[kept++] = free_bufs[nfree++] = all[i];
	}
	if (batch && rref_info(batch) >= 0)
		rref_free(batch);
	batch = RREF_NULL;
	nall = kept;
	stats[NETC_RETURNED] += nfree - before;
	stats[NETC_DROPPED] += out - (nfree - before);
	stats[NETC_OWNED] = nfree;
	given = 0;
}

/*
 * A driver that dies between two calls is restarted by the shadow, which
 * sends the next call to the new driver: the client sees no error. The
 * buffers the old driver held in its rings still come back to us (recalled),
 * so `given` overstates what the driver holds. One given buffer is watched:
 * while the driver has it, rref_info is -MAPLE_EPERM for us; once it is ours
 * again without having come back in a batch, every buffer of ours that is
 * not in hand is taken back (counted returned). One syscall a call; a walk
 * only after a restart.
 */
static void recalled(void)
{
	if (!probe || rref_info(probe) < 0)
		return;
	uint32_t back = 0;
	for (uint32_t i = 0; i < nall; i++) {
		bool in_hand = false;
		for (uint32_t k = 0; k < nfree && !in_hand; k++)
			in_hand = free_bufs[k] == all[i];
		if (in_hand || rref_info(all[i]) < 0)
			continue;    /* in hand, or with the new driver */
		rref_unnest(all[i]); /* fails, harmlessly, for a root */
		free_bufs[nfree++] = all[i];
		back++;
	}
	given -= back < given ? back : given;
	stats[NETC_RETURNED] += back;
	stats[NETC_OWNED] = nfree;
	probe = RREF_NULL;
}

static bool crash_error(long r)
{
	return r == -MAPLE_ECALLEE || r == -MAPLE_EDEAD || r == -MAPLE_ETIMEDOUT;
}

/* One submit_and_poll of the current batch; the buffers that come back
 * go to free[] (RX ones checked first when frames > 0). */
static long submit(long frames, uint32_t len)
{
	rref_t back = RREF_NULL;
	struct NetBatch *in = NetBatch_ptr(batch);
	uint32_t pushed = NetPacket_deque32_len(in->tx) + NetPacket_deque32_len(in->rx);
	/* A receive buffer posted now stays with the driver until a frame
	 * fills it: the one to watch if none is watched yet. */
	rref_t watch = NetPacket_deque32_len(in->rx) ? NetPacket_deque32_get(in->rx, 0) : RREF_NULL;
	long r = Net_submit_and_poll(&dev, batch, &back);
	if (r < 0 || !back) {
		stats[NETC_LAST_ERROR] = r < 0 ? r : -MAPLE_EINVAL;
		if (crash_error(r))
			stats[NETC_CRASHES]++;
		take_stock(given + pushed);
		probe = RREF_NULL;
		return r < 0 ? r : -MAPLE_EINVAL;
	}
	batch = back;
	struct NetBatch *b = NetBatch_ptr(batch);
	given += b->tx_posted + b->rx_posted;
	if (!probe && b->status == 0 && b->rx_posted)
		probe = watch;
	rref_t r2;
	/* A refused batch comes back whole, none of it given. */
	while ((r2 = NetPacket_deque32_pop(b->tx)) != RREF_NULL) {
		if (b->status == 0) {
			given--;
			stats[NETC_SENT]++;
		}
		probe = r2 == probe ? RREF_NULL : probe;
		free_bufs[nfree++] = r2;
	}
	while ((r2 = NetPacket_deque32_pop(b->rx)) != RREF_NULL) {
		if (b->status == 0) {
			given--;
			if (receiving)
				check_pktgen(NetPacket_ptr(r2));
			else if (frames)
				check(NetPacket_ptr(r2), frames, len);
		}
		probe = r2 == probe ? RREF_NULL : probe;
		free_bufs[nfree++] = r2;
	}
	stats[NETC_OWNED] = nfree;
	recalled();
	return b->status;
}

static long traffic_run(long frames, long len, long ms)
{
	if (!started || frames < 1 || frames > MAX_FRAMES || len < MIN_FRAME || len > MAX_FRAME)
		return -MAPLE_EINVAL;
	run_id++;
	__builtin_memset(seen, 0, sizeof seen);
	stats[NETC_SENT] = stats[NETC_VERIFIED] = stats[NETC_BAD] = stats[NETC_STALE] =
		stats[NETC_RESENT] = 0;
	uint64_t now = maple_clock_ns(), deadline = now + (uint64_t)ms * 1000000;
	uint64_t progress_ns = now;
	int64_t progress = 0;
	uint32_t next = 0, rx_out = 0, resend = (uint32_t)frames;
	while (stats[NETC_VERIFIED] < frames && (now = maple_clock_ns()) < deadline) {
		if (stock(POOL) < 0 || (!batch && net_client_batch(&batch) < 0))
			return -MAPLE_ENOMEM;
		struct NetBatch *b = NetBatch_ptr(batch);
		if (stats[NETC_VERIFIED] != progress) {
			progress = stats[NETC_VERIFIED];
			progress_ns = now;
		} else if (next == frames && resend == frames && now - progress_ns > RESEND_NS) {
			resend = 0; /* a pass over the frames still missing */
			progress_ns = now;
		}
		while (next < frames && nfree && NetPacket_deque32_len(b->tx) < 32 &&
		       (nullnet || next < stats[NETC_VERIFIED] + RX_TARGET)) {
			rref_t p = free_bufs[--nfree];
			build(NetPacket_ptr(p), next, (uint32_t)len);
			if (NetPacket_deque32_push(b->tx, p) < 0) {
				free_bufs[nfree++] = p;
				break;
			}
			next++;
		}
		while (resend < frames && nfree && NetPacket_deque32_len(b->tx) < 32) {
			if (!(seen[resend / 8] & (1u << (resend % 8)))) {
				rref_t p = free_bufs[--nfree];
				build(NetPacket_ptr(p), resend, (uint32_t)len);
				if (NetPacket_deque32_push(b->tx, p) < 0) {
					free_bufs[nfree++] = p;
					break;
				}
				stats[NETC_RESENT]++;
			}
			resend++;
		}
		rx_out = nullnet ? 0 : given; /* receive buffers posted, roughly */
		while (nfree && rx_out < RX_TARGET && NetPacket_deque32_len(b->rx) < 32) {
			if (NetPacket_deque32_push(b->rx, free_bufs[nfree - 1]) < 0)
				break;
			nfree--;
			rx_out++;
		}
		long r = submit(frames, (uint32_t)len);
		if (r < 0 && (!shadowed || !crash_error(r)))
			return r;
		if (r < 0) {
			/* A new driver: the run starts over; frames of the first
			 * attempt that still arrive are stale, not verified. */
			run_id++;
			__builtin_memset(seen, 0, sizeof seen);
			stats[NETC_VERIFIED] = 0;
			next = 0;
			resend = (uint32_t)frames;
		} else {
			maple_yield();
		}
	}
	return stats[NETC_VERIFIED];
}

/* receive()'s run: receive buffers only, RECV_TARGET of them posted. */
static long receive_run(long frames, long ms)
{
	if (!started || nullnet || frames < 1 || ms <= 0)
		return -MAPLE_EINVAL;
	stats[NETC_VERIFIED] = stats[NETC_BAD] = stats[NETC_RECEIVED] = stats[NETC_LOST] =
		stats[NETC_REORDERED] = stats[NETC_LAST_SEQ] = 0;
	last_len = 0;
	uint64_t now = maple_clock_ns(), deadline = now + (uint64_t)ms * 1000000, last = 0;
	long r = 0;
	receiving = true;
	/* Until every frame came, or the last one did (those before it that are
	 * missing are lost), or none came for QUIET_NS since the last that did
	 * (those after it are lost). */
	while (stats[NETC_VERIFIED] < frames && stats[NETC_LAST_SEQ] < frames && now < deadline &&
	       !(last && now - last > QUIET_NS)) {
		if (stock(RECV_TARGET + 32) < 0 || (!batch && net_client_batch(&batch) < 0)) {
			r = -MAPLE_ENOMEM;
			break;
		}
		struct NetBatch *b = NetBatch_ptr(batch);
		for (uint32_t out = given;
		     nfree && out < RECV_TARGET && NetPacket_deque32_len(b->rx) < 32; out++) {
			if (NetPacket_deque32_push(b->rx, free_bufs[nfree - 1]) < 0)
				break;
			nfree--;
		}
		int64_t before = stats[NETC_RECEIVED];
		if ((r = submit(0, 0)) < 0)
			break;
		/* Nothing came: the source has not started, or is blocked
		 * (the netdev holds its frames), or is done. */
		now = maple_clock_ns();
		if (stats[NETC_RECEIVED] != before)
			last = now;
		else
			maple_sleep_ns(IDLE_NS);
	}
	receiving = false;
	if (stats[NETC_LAST_SEQ] < frames) /* the frames after the last that came */
		stats[NETC_LOST] += frames - stats[NETC_LAST_SEQ];
	return r < 0 ? r : stats[NETC_VERIFIED];
}

static long start(long which)
{
	if (started)
		return -MAPLE_EINVAL;
	static const char *const images[] = {
		"nullnet", "nullnet_shadow", "virtio_net", "net_shadow",
		"igb",	   "igb_shadow",     "ixgbe",	   "ixgbe_shadow"};
	_Static_assert(sizeof images / sizeof images[0] == NetcDriver_COUNT, "one per driver");
	if (which < 0 || which >= NetcDriver_COUNT)
		return -MAPLE_EINVAL;
	long h = maple_domain_create(images[which]);
	if (h < 0)
		return h;
	dev.domain = (uint64_t)h;
	shadowed = which == NETC_NULLNET_SHADOW || which == NETC_VIRTIO_SHADOW ||
		   which == NETC_IGB_SHADOW || which == NETC_IXGBE_SHADOW;
	nullnet = which == NETC_NULLNET || which == NETC_NULLNET_SHADOW;
	long m = Net_mac(&dev);
	if (m < 0)
		return m;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)(m >> (8 * i));
	started = true;
	return 0;
}

static void worker(void *arg)
{
	(void)arg;
	long r = job.receive ? receive_run(job.frames, job.ms)
			     : traffic_run(job.frames, job.len, job.ms);
	__atomic_store_n(&job.result, r, __ATOMIC_RELEASE);
	__atomic_store_n(&job.busy, 0, __ATOMIC_RELEASE);
	maple_thread_exit();
}

/* Runs job (set, with job.busy taken) on a thread of its own; job.busy is
 * given back if none can be made. */
static long start_worker(void)
{
	long t = maple_thread_create(worker, NULL);
	if (t < 0)
		__atomic_store_n(&job.busy, 0, __ATOMIC_RELEASE);
	return t < 0 ? t : 0;
}

static long traffic(long frames, long len, long ms, long background)
{
	if (__atomic_exchange_n(&job.busy, 1, __ATOMIC_ACQ_REL))
		return -MAPLE_EBUSY;
	if (!background) {
		long r = traffic_run(frames, len, ms);
		__atomic_store_n(&job.busy, 0, __ATOMIC_RELEASE);
		return r;
	}
	job.frames = frames;
	job.len = len;
	job.ms = ms;
	job.receive = false;
	return start_worker();
}

static long receive(long frames, long src_mac, long ms)
{
	if (!started || nullnet || frames < 1 || ms <= 0)
		return -MAPLE_EINVAL;
	if (__atomic_exchange_n(&job.busy, 1, __ATOMIC_ACQ_REL))
		return -MAPLE_EBUSY;
	for (int i = 0; i < 6; i++)
		pg_src[i] = (uint8_t)((uint64_t)src_mac >> (8 * i));
	job.frames = frames;
	job.ms = ms;
	job.receive = true;
	return start_worker();
}

/* That the check is not blind: the last verified frame, each byte flipped
 * in turn, must be refused every time (the Ethernet and IP fields by value,
 * the IP id by the header checksum, the payload by value and the UDP sum). */
static long flips_missed(void)
{
	uint32_t seq;
	if (__atomic_load_n(&job.busy, __ATOMIC_ACQUIRE) || !last_len ||
	    pktgen_check(last_frame, last_len, mac, pg_src, &seq) != PG_OK)
		return -MAPLE_EINVAL;
	long missed = 0;
	for (uint32_t i = 0; i < last_len; i++) {
		last_frame[i] ^= 0xff;
		missed += pktgen_check(last_frame, last_len, mac, pg_src, &seq) == PG_OK;
		last_frame[i] ^= 0xff;
	}
	return missed;
}

/* At most WAIT_NS per call: a call that sleeps longer would trip the
 * kernel's watchdog (1 s), so a caller calls again on -MAPLE_EAGAIN. */
static long wait(void)
{
	uint64_t deadline = maple_clock_ns() + WAIT_NS;
	while (__atomic_load_n(&job.busy, __ATOMIC_ACQUIRE)) {
		if (maple_clock_ns() >= deadline)
			return -MAPLE_EAGAIN;
		maple_sleep_ns(1000000);
	}
	return __atomic_load_n(&job.result, __ATOMIC_ACQUIRE);
}

static long stat(long which)
{
	if (which >= 0 && which < NETC_DRIVER)
		return stats[which];
	if (!started || which < NETC_DRIVER || which >= NETC_DRIVER + 2 + NetCounter_COUNT)
		return -MAPLE_EINVAL;
	if (which == NETC_DRIVER)
		return Net_link(&dev);
	if (which == NETC_DRIVER + 1)
		return Net_mac(&dev);
	return Net_counter(&dev, (uint32_t)(which - NETC_DRIVER - 2));
}

/* Whether every buffer this domain allocated is accounted for. */
static bool accounted(void)
{
	return stats[NETC_ALLOCATED] == stats[NETC_DROPPED] + nfree + given;
}

static long bad(long which)
{
	if (!started || __atomic_exchange_n(&job.busy, 1, __ATOMIC_ACQ_REL))
		return -MAPLE_EBUSY;
	long r = stock(POOL);
	if (r == 0 && !batch)
		r = net_client_batch(&batch);
	struct NetBatch *b = batch ? NetBatch_ptr(batch) : NULL;
	if (r == 0 && which == NETC_BAD_SMALL) {
		rref_t small = rref_alloc(NetPacket_TYPE, 64);
		if (!small) {
			r = -MAPLE_ENOMEM;
		} else {
			stats[NETC_ALLOCATED]++;
			NetPacket_deque32_push(b->rx, free_bufs[--nfree]);
			NetPacket_deque32_push(b->rx, small);
			r = submit(0, 0);
			/* Back in our hands (else the free fails): out of the pool. */
			for (uint32_t i = 0; i < nfree; i++)
				if (free_bufs[i] == small && rref_free(small) == 0) {
					free_bufs[i] = free_bufs[--nfree];
					stats[NETC_ALLOCATED]--;
					stats[NETC_OWNED] = nfree;
				}
		}
	} else if (r == 0 && which == NETC_BAD_LONG) {
		rref_t p = free_bufs[--nfree];
		build(NetPacket_ptr(p), 0, MAX_FRAME);
		NetPacket_ptr(p)->len = MAX_FRAME + 1;
		NetPacket_deque32_push(b->tx, p);
		r = submit(0, 0);
	} else if (r == 0 && which == NETC_BAD_TOO_MANY) {
		/* Fill the receive ring 32 at a time; the batch that does not fit
		 * fails alone. Never more than BAD_BUFFERS / 32 batches. */
		for (int n = 0; r == 0 && n < BAD_BUFFERS / 32; n++) {
			r = stock((uint32_t)(stats[NETC_ALLOCATED] - stats[NETC_DROPPED]) + 32);
			for (int i = 0; r == 0 && i < 32; i++)
				NetPacket_deque32_push(b->rx, free_bufs[--nfree]);
			if (r == 0)
				r = submit(0, 0);
		}
	} else if (r == 0 && which == NETC_BAD_EMPTY) {
		r = submit(0, 0);
	} else if (r == 0) {
		r = -MAPLE_EINVAL;
	}
	__atomic_store_n(&job.busy, 0, __ATOMIC_RELEASE);
	return accounted() ? r : -MAPLE_EINVAL;
}

long domain_main(long arg)
{
	(void)arg;
	const uint64_t methods[] = {
		[NetClient_start_METHOD] = MAPLE_METHOD(start),
		[NetClient_traffic_METHOD] = MAPLE_METHOD(traffic),
		[NetClient_wait_METHOD] = MAPLE_METHOD(wait),
		[NetClient_stat_METHOD] = MAPLE_METHOD(stat),
		[NetClient_bad_METHOD] = MAPLE_METHOD(bad),
		[NetClient_receive_METHOD] = MAPLE_METHOD(receive),
		[NetClient_flips_missed_METHOD] = MAPLE_METHOD(flips_missed),
	};
	_Static_assert(DOM_ARRAY_LEN(methods) == NetClient_METHODS, "one entry per method");
	return maple_export(methods, DOM_ARRAY_LEN(methods));
}
