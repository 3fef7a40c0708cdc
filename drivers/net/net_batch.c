/*
 * Checking a Net batch before a driver posts any of it (net_batch.h). The
 * batch was moved to the driver, so the gate has checked its handle and
 * the kernel will refuse anything it does not own; but its payload, like
 * every payload, is shared memory the client can still write, so each
 * handle and length is read once here, and lengths are read again (and
 * clamped) where a driver posts them.
 */
#include <net/net_batch.h>

static bool whole(rref_t r, uint64_t bytes)
{
	long size = rref_size(r);
	return size >= 0 && (uint64_t)size >= bytes;
}

bool net_packet_ok(rref_t r)
{
	return whole(r, sizeof(struct NetPacket));
}

long net_batch_open(rref_t batch, uint32_t tx_room, uint32_t rx_room, struct net_batch *b)
{
	if (!whole(batch, sizeof(struct NetBatch)))
		return -MAPLE_EINVAL;
	struct NetBatch *p = NetBatch_ptr(batch);
	rref_t tx = __atomic_load_n(&p->tx, __ATOMIC_RELAXED);
	rref_t rx = __atomic_load_n(&p->rx, __ATOMIC_RELAXED);
	if (tx == rx || tx == batch || rx == batch ||
	    !whole(tx, sizeof(struct NetPacket_deque32)) ||
	    !whole(rx, sizeof(struct NetPacket_deque32)))
		return -MAPLE_EINVAL;
	uint32_t ntx = NetPacket_deque32_len(tx), nrx = NetPacket_deque32_len(rx);
	for (uint32_t i = 0; i < ntx; i++) {
		rref_t r = NetPacket_deque32_get(tx, i);
		if (!whole(r, sizeof(struct NetPacket)) ||
		    __atomic_load_n(&NetPacket_ptr(r)->len, __ATOMIC_RELAXED) > NET_MTU_FRAME)
			return -MAPLE_EINVAL;
	}
	for (uint32_t i = 0; i < nrx; i++)
		if (!whole(NetPacket_deque32_get(rx, i), sizeof(struct NetPacket)))
			return -MAPLE_EINVAL;
	if (ntx > tx_room || nrx > rx_room)
		return -MAPLE_ENOMEM;
	*b = (struct net_batch){.batch = batch, .tx = tx, .rx = rx, .ntx = ntx, .nrx = nrx};
	return 0;
}

long net_batch_close(const struct net_batch *b, int32_t status, uint32_t tx_posted,
		     uint32_t rx_posted, rref_t *out)
{
	struct NetBatch *p = NetBatch_ptr(b->batch);
	p->status = status;
	p->tx_posted = tx_posted;
	p->rx_posted = rx_posted;
	*out = b->batch;
	return 0;
}

long net_batch_refuse(rref_t batch, long err, rref_t *out)
{
	if (whole(batch, sizeof(struct NetBatch))) {
		struct NetBatch *p = NetBatch_ptr(batch);
		p->status = (int32_t)err;
		p->tx_posted = 0;
		p->rx_posted = 0;
	}
	*out = batch;
	return 0;
}
