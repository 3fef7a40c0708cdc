/*
 * What every ring-based Net driver (virtio-net, the Intel core) does the
 * same way around its rings: submit_and_poll over a receive and a
 * transmit ring (post, one notify per ring, reap completions into the
 * deques, drop malformed receives), the counters, and the thread that
 * logs a link still down a second after the start. A driver gives its
 * ring operations; the device-specific parts stay in the driver.
 */
#ifndef DRIVERS_NET_SERVE_H
#define DRIVERS_NET_SERVE_H

#include <net/net_batch.h>

/* What a ring's reap found. */
enum net_reaped {
	NET_REAPED_NONE,      /* no completion */
	NET_REAPED_DONE,      /* a sent or received frame (RX: *len is its length) */
	NET_REAPED_MALFORMED, /* RX: a completion to drop (its buffer is posted again) */
};

struct net_rings {
	uint32_t (*room)(bool rx); /* buffers the ring can still take */
	uint32_t (*held)(bool rx); /* buffers the device holds */
	/* Post checked NetPacket p (owned here), whose whole struct starts at
	 * bus address `bus`: TX len bytes, RX its whole data. */
	void (*post)(bool rx, rref_t p, uint64_t bus, uint32_t len);
	void (*flush)(bool rx); /* one notify or tail write for what was posted */
	/* The oldest completion's buffer in *p; TX *len the posted length. */
	enum net_reaped (*reap)(bool rx, rref_t *p, uint32_t *len);
};

/* Counters (NetCounter), relaxed atomics: counter() reads them from
 * other threads. */
void net_count(enum NetCounter c, uint64_t n);
long net_counter(uint32_t which);

/* submit_and_poll on rings, one batch at a time (NetBatch's contract in
 * domains/idl/net.idl). */
long net_serve(const struct net_rings *rings, rref_t batch, rref_t *out);

/* Start a thread that gives link_up a second and logs `<who>: <device>:
 * link is down (<bit> clear 1000 ms after start); reporting link down
 * until it comes up` if it stays false. 0 or -error. */
long net_watch_link(const char *who, const char *device, const char *bit, bool (*link_up)(void));

#endif
