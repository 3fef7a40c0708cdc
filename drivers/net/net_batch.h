/*
 * What every Net driver (domains/idl/net.idl) does with a batch moved into
 * submit_and_poll before it posts anything: check that it is whole, so a
 * bad batch is refused as a whole (NetBatch.status) and comes back as it
 * was, and give the driver its two deques.
 */
#ifndef DRIVERS_NET_BATCH_H
#define DRIVERS_NET_BATCH_H

#include <idl/net.h>

/* Ethernet's 1500-byte MTU plus its 14-byte header (no FCS, no VLAN tag). */
#define NET_MTU_FRAME 1514
_Static_assert(sizeof(((struct NetPacket *)0)->data) >= NET_MTU_FRAME,
	       "a NetPacket holds a whole frame");

/* One deque of a batch as net_batch_open found it: buffer i (from the
 * front) was handle seen[i], whose whole NetPacket starts at bus[i]. */
struct net_deque_seen {
	uint32_t n;
	rref_t seen[NetPacket_deque32_CAP];
	uint64_t bus[NetPacket_deque32_CAP];
};

struct net_batch {
	rref_t batch, tx, rx; /* the batch and the deques nested in it */
	uint32_t ntx, nrx;    /* buffers in each */
	struct net_deque_seen tx_seen, rx_seen;
};

/*
 * Check a batch this driver owns now: the batch and both deques are RRefs
 * it owns, at least their structs' size, two different ones; every buffer
 * in them is at least a whole NetPacket (rref_bus of the whole struct: a
 * client can allocate NetPacket's type id with any size, and a device
 * writes what it is told), the bus address kept in b; every TX length is
 * at most NET_MTU_FRAME; and ntx <= tx_room, nrx <= rx_room. 0 with *b
 * set, or -MAPLE_EINVAL (a bad buffer or length) or -MAPLE_ENOMEM (more
 * than the rings hold), with nothing changed.
 */
long net_batch_open(rref_t batch, uint32_t tx_room, uint32_t rx_room, struct net_batch *b);

/*
 * The bus address of the whole NetPacket r, just popped (unnested) as the
 * i-th buffer of a deque net_batch_open saw as s, or a negative error if
 * it may not be posted. The client can still rewrite the deque's head,
 * length and slots, so a pop may bring out another RRef nested in the
 * batch (a small one, or the other deque): what open checked is reused
 * only for the very handle it checked, else r is checked now (rref_bus).
 */
long net_packet_bus(const struct net_deque_seen *s, uint32_t i, rref_t r);

/* Give back a batch net_batch_open refused, with status err written in it
 * if it is big enough to hold one (else unchanged): 0, *out set. */
long net_batch_refuse(rref_t batch, long err, rref_t *out);

/* Set the batch's result words and give it back through *out: 0. */
long net_batch_close(const struct net_batch *b, int32_t status, uint32_t tx_posted,
		     uint32_t rx_posted, rref_t *out);

#endif
