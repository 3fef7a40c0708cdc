/*
 * submit_and_poll over a driver's two rings, the counters and the link
 * watch (net_serve.h). The batch was moved here; every buffer popped from
 * it is the one net_batch_open checked, or is checked now, before a device
 * gets its address (net_packet_bus), and a TX length is read once and
 * clamped, since the client can still write its memory.
 */
#include <net/net_serve.h>

#define LINK_WAIT_NS 1000000000ULL

static uint64_t counters[NetCounter_COUNT];
static struct dom_lock lock; /* one batch at a time */

void net_count(enum NetCounter c, uint64_t n)
{
	__atomic_add_fetch(&counters[c], n, __ATOMIC_RELAXED);
}

long net_counter(uint32_t which)
{
	if (which >= NetCounter_COUNT)
		return -MAPLE_EINVAL;
	return (long)__atomic_load_n(&counters[which], __ATOMIC_RELAXED);
}

/* An RRef a pop brought out that may not be posted (net_packet_bus): back
 * at the end of its deque, unwritten (it may be anything nested in the
 * batch); freed if even that fails (the client made a deque hold itself).
 * The driver keeps nothing it does not post. */
static void refuse(rref_t deque, rref_t r)
{
	net_count(NET_TX_ERRORS, 1);
	if (NetPacket_deque32_push(deque, r) < 0)
		rref_free(r);
}

/* Pop up to n buffers from deque (seen by net_batch_open as s) and post
 * each; the number posted. */
static uint32_t post_all(const struct net_rings *rings, bool rx, rref_t deque,
			 const struct net_deque_seen *s, uint32_t n)
{
	uint32_t posted = 0;
	for (uint32_t i = 0; i < n; i++) {
		rref_t r = NetPacket_deque32_pop(deque);
		if (!r)
			continue; /* the client emptied a slot after the check */
		long bus = net_packet_bus(s, i, r);
		if (bus < 0) {
			refuse(deque, r);
			continue;
		}
		uint32_t len = __atomic_load_n(&NetPacket_ptr(r)->len, __ATOMIC_RELAXED);
		rings->post(rx, r, (uint64_t)bus, len < NET_MTU_FRAME ? len : NET_MTU_FRAME);
		posted++;
	}
	return posted;
}

/* A malformed receive's buffer, straight back to the device. The driver
 * has owned it since it was posted, so its address cannot be refused; if
 * it ever were, the device must not get one, and failing the driver lets
 * the shadow recover. */
static void post_again(const struct net_rings *rings, rref_t r)
{
	long bus = rref_bus(r, sizeof(struct NetPacket));
	if (bus < 0)
		maple_panic("net: no bus address for a posted receive buffer: %ld", bus);
	rings->post(true, r, (uint64_t)bus, 0);
}

long net_serve(const struct net_rings *rings, rref_t batch, rref_t *out)
{
	dom_lock(&lock);
	struct net_batch b;
	long rc = net_batch_open(batch, rings->room(false), rings->room(true), &b);
	if (rc < 0) {
		net_count(NET_TX_ERRORS, 1);
		dom_unlock(&lock);
		return net_batch_refuse(batch, rc, out);
	}
	uint32_t tx_posted = post_all(rings, false, b.tx, &b.tx_seen, b.ntx);
	uint32_t rx_posted = post_all(rings, true, b.rx, &b.rx_seen, b.nrx);
	/* Receive buffers first: a frame the transmit tail write sends may come
	 * straight back (a loopback), and a device that drops a frame finding
	 * no buffer (SRRCTL.Drop_En, the 82599 model) would lose it. */
	rings->flush(true);
	rings->flush(false);

	/* Completions, as many as the deques take; the rest wait in the
	 * rings for the next batch. Counted here, added once a batch: each
	 * add is an atomic another thread's counter() may race with. */
	rref_t r;
	uint32_t len;
	uint64_t n[NetCounter_COUNT] = {0};
	while (NetPacket_deque32_len(b.tx) < NetPacket_deque32_CAP &&
	       rings->reap(false, &r, &len) == NET_REAPED_DONE) {
		NetPacket_ptr(r)->status = 0;
		n[NET_TX_PACKETS]++;
		n[NET_TX_BYTES] += len; /* the posted length: the client may write p->len */
		NetPacket_deque32_push(b.tx, r);
	}
	enum net_reaped what;
	while (NetPacket_deque32_len(b.rx) < NetPacket_deque32_CAP &&
	       (what = rings->reap(true, &r, &len)) != NET_REAPED_NONE) {
		if (what == NET_REAPED_MALFORMED) {
			/* Counted, and the buffer goes straight back to the device. */
			n[NET_RX_DROPS]++;
			post_again(rings, r);
			continue;
		}
		struct NetPacket *p = NetPacket_ptr(r);
		p->len = len;
		p->status = 0;
		n[NET_RX_PACKETS]++;
		n[NET_RX_BYTES] += len;
		NetPacket_deque32_push(b.rx, r);
	}
	for (int c = 0; c < NetCounter_COUNT; c++)
		if (n[c])
			net_count((enum NetCounter)c, n[c]);
	rings->flush(true); /* buffers posted again after a drop */
	__atomic_store_n(&counters[NET_IN_FLIGHT], rings->held(false) + rings->held(true),
			 __ATOMIC_RELAXED);
	dom_unlock(&lock);
	return net_batch_close(&b, 0, tx_posted, rx_posted, out);
}

static struct {
	const char *who, *device, *bit;
	bool (*link_up)(void);
} watch;

/* A thread of its own, so that domain_main (which its creator waits for)
 * does not wait: the driver serves meanwhile, and link() reads live. */
static void watch_link(void *arg)
{
	(void)arg;
	uint64_t deadline = maple_clock_ns() + LINK_WAIT_NS;
	while (!watch.link_up() && maple_clock_ns() < deadline)
		maple_sleep_ns(10000000);
	if (!watch.link_up())
		dom_printf("%s: %s: link is down (%s clear %llu ms after start); reporting link "
			   "down until it comes up",
			   watch.who, watch.device, watch.bit, LINK_WAIT_NS / 1000000);
	maple_thread_exit();
}

long net_watch_link(const char *who, const char *device, const char *bit, bool (*link_up)(void))
{
	watch.who = who;
	watch.device = device;
	watch.bit = bit;
	watch.link_up = link_up;
	long rc = maple_thread_create(watch_link, NULL);
	return rc < 0 ? rc : 0;
}
