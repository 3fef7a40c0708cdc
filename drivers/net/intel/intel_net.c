/*
 * Net on the Intel rings (intel_net.h): queue 0 for receive and transmit,
 * polled. A batch posts its TX buffers, then its RX buffers, writes each
 * tail once, then reaps completions into the deques it moves back.
 *
 * While a buffer is posted the driver owns its RRef (it was moved in with
 * the batch); if the driver dies the kernel stops the device (Bus Master
 * off, then CTRL.RST) before it frees or recalls them (docs/drivers.md
 * "Quiescing"), so the device never writes a buffer someone else holds.
 */
#include <net/intel/intel_net.h>
#include <net/net_batch.h>

#define LINK_WAIT_NS 1000000000ULL

static const struct intel_chip *chip;
static volatile uint8_t *regs;
static struct intel_ring rxr, txr;
static uint64_t mac_addr;
static uint64_t counters[NetCounter_COUNT];
static struct dom_lock lock; /* one batch at a time */

static void count(enum NetCounter c, uint64_t n)
{
	__atomic_add_fetch(&counters[c], n, __ATOMIC_RELAXED);
}

/* An RRef a pop brought out that may not be posted (net_packet_ok): back
 * at the end of its deque, unwritten; freed if even that fails (the client
 * made a deque hold itself). The driver keeps nothing it does not post. */
static void refuse(rref_t deque, rref_t r)
{
	count(NET_TX_ERRORS, 1);
	if (NetPacket_deque32_push(deque, r) < 0)
		rref_free(r);
}

/* Pop up to n buffers from deque and post each on ring; the number posted. */
static uint32_t post_all(struct intel_ring *ring, rref_t deque, uint32_t n)
{
	uint32_t posted = 0;
	for (uint32_t i = 0; i < n; i++) {
		rref_t r = NetPacket_deque32_pop(deque);
		if (!r)
			continue; /* the client emptied a slot after the check */
		if (!net_packet_ok(r)) {
			refuse(deque, r);
			continue;
		}
		/* Read once, clamped: the client may still write the payload. */
		uint32_t len = __atomic_load_n(&NetPacket_ptr(r)->len, __ATOMIC_RELAXED);
		intel_ring_post(ring, r, len < NET_MTU_FRAME ? len : NET_MTU_FRAME);
		posted++;
	}
	return posted;
}

static long submit_and_poll(rref_t batch, rref_t *out)
{
	dom_lock(&lock);
	struct net_batch b;
	long rc = net_batch_open(batch, intel_ring_room(&txr), intel_ring_room(&rxr), &b);
	if (rc < 0) {
		count(NET_TX_ERRORS, 1);
		dom_unlock(&lock);
		return net_batch_refuse(batch, rc, out);
	}
	uint32_t tx_posted = post_all(&txr, b.tx, b.ntx);
	uint32_t rx_posted = post_all(&rxr, b.rx, b.nrx);
	intel_ring_flush(&txr);
	intel_ring_flush(&rxr);

	/* Completions, as many as the deques take; the rest wait in the
	 * rings for the next batch. */
	rref_t r;
	uint32_t len;
	while (NetPacket_deque32_len(b.tx) < NetPacket_deque32_CAP &&
	       intel_ring_reap(&txr, &r, &len) == INTEL_DONE) {
		NetPacket_ptr(r)->status = 0;
		count(NET_TX_PACKETS, 1);
		count(NET_TX_BYTES,
		      len); /* the posted length, not p->len: the client may write it */
		NetPacket_deque32_push(b.tx, r);
	}
	enum intel_reaped what;
	while (NetPacket_deque32_len(b.rx) < NetPacket_deque32_CAP &&
	       (what = intel_ring_reap(&rxr, &r, &len)) != INTEL_NONE) {
		if (what == INTEL_MALFORMED) {
			/* Counted, and the buffer goes straight back to the device. */
			count(NET_RX_DROPS, 1);
			intel_ring_post(&rxr, r, 0);
			continue;
		}
		struct NetPacket *p = NetPacket_ptr(r);
		p->len = len;
		p->status = 0;
		count(NET_RX_PACKETS, 1);
		count(NET_RX_BYTES, len);
		NetPacket_deque32_push(b.rx, r);
	}
	intel_ring_flush(&rxr); /* buffers reposted after a drop */
	__atomic_store_n(&counters[NET_IN_FLIGHT], intel_ring_held(&rxr) + intel_ring_held(&txr),
			 __ATOMIC_RELAXED);
	dom_unlock(&lock);
	return net_batch_close(&b, 0, tx_posted, rx_posted, out);
}

static long link(void)
{
	return chip->link_up(regs);
}

static long mac(void)
{
	return (long)mac_addr;
}

static long counter(uint32_t which)
{
	if (which >= NetCounter_COUNT)
		return -MAPLE_EINVAL;
	return (long)__atomic_load_n(&counters[which], __ATOMIC_RELAXED);
}

/* A thread of its own, so that domain_main (which its creator waits for)
 * does not: give the link LINK_WAIT_NS to come up, and say so if it does
 * not. The driver serves meanwhile; link() reads the live bit. */
static void watch_link(void *arg)
{
	(void)arg;
	uint64_t deadline = maple_clock_ns() + LINK_WAIT_NS;
	while (!chip->link_up(regs) && maple_clock_ns() < deadline)
		maple_sleep_ns(10000000);
	if (!chip->link_up(regs))
		dom_printf("%s: %s: link is down (%s clear %llu ms after start); reporting link "
			   "down until it comes up",
			   chip->name, chip->device, chip->link_bit, LINK_WAIT_NS / 1000000);
	maple_thread_exit();
}

static long start(void)
{
	long size = maple_device_bar_size(chip->device, 0);
	long va = maple_device_bar(chip->device, 0);
	if (va < 0 || size < 0) {
		dom_printf("%s: %s: cannot map BAR 0: %ld", chip->name, chip->device,
			   va < 0 ? va : size);
		return va < 0 ? va : size;
	}
	if ((uint64_t)size < chip->queues.tx_base + INTEL_QUEUE_STRIDE) {
		dom_printf("%s: %s: BAR 0 is %ld bytes; its queue registers end at %#x", chip->name,
			   chip->device, size, chip->queues.tx_base + INTEL_QUEUE_STRIDE);
		return -MAPLE_EINVAL;
	}
	regs = (volatile uint8_t *)va;
	long rc = chip->reset(regs, &mac_addr);
	if (rc == 0)
		rc = intel_ring_init(&rxr, chip->name, regs, &chip->queues, 0, true);
	if (rc == 0)
		rc = intel_ring_init(&txr, chip->name, regs, &chip->queues, 0, false);
	if (rc == 0)
		rc = maple_device_busmaster(chip->device, 1);
	if (rc < 0)
		return rc;
	chip->enable(regs);
	uint8_t m[6];
	for (int i = 0; i < 6; i++)
		m[i] = (uint8_t)(mac_addr >> (8 * i));
	dom_printf("%s: %s: up, mac %02x:%02x:%02x:%02x:%02x:%02x, rings %u/%u, link %s",
		   chip->name, chip->device, m[0], m[1], m[2], m[3], m[4], m[5], INTEL_RING_SIZE,
		   INTEL_RING_SIZE, chip->link_up(regs) ? "up" : "down");
	return 0;
}

long intel_net_main(const struct intel_chip *c)
{
	chip = c;
	long rc = start();
	if (rc < 0)
		return rc;
	rc = maple_thread_create(watch_link, NULL);
	if (rc < 0)
		return rc;
	static const struct Net_impl impl = {
		.submit_and_poll = submit_and_poll,
		.link = link,
		.mac = mac,
		.counter = counter,
	};
	return Net_export(&impl);
}
