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

/* Buffer i of deque q, if rref_bus gives its whole NetPacket (the one
 * syscall per buffer that both checks its size and gives its address). */
static bool see(struct net_deque_seen *s, rref_t q, uint32_t i)
{
	rref_t r = NetPacket_deque32_get(q, i);
	long bus = rref_bus(r, sizeof(struct NetPacket));
	s->seen[i] = r;
	s->bus[i] = (uint64_t)bus;
	return bus >= 0;
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
	b->tx_seen.n = ntx;
	b->rx_seen.n = nrx;
	for (uint32_t i = 0; i < ntx; i++)
		if (!see(&b->tx_seen, tx, i) ||
		    __atomic_load_n(&NetPacket_ptr(b->tx_seen.seen[i])->len, __ATOMIC_RELAXED) >
			    NET_MTU_FRAME)
			return -MAPLE_EINVAL;
	for (uint32_t i = 0; i < nrx; i++)
		if (!see(&b->rx_seen, rx, i))
			return -MAPLE_EINVAL;
	if (ntx > tx_room || nrx > rx_room)
		return -MAPLE_ENOMEM;
	b->batch = batch;
	b->tx = tx;
	b->rx = rx;
	b->ntx = ntx;
	b->nrx = nrx;
	return 0;
}

/*
 * Reusing what open found is sound because a handle names one RRef while
 * it is live (its generation advances on every free), and the handles
 * open accepted stay live until the driver lets them go: rref_bus accepts
 * only an RRef the driver owns, or holds nested in the batch it owns, or
 * is lent by the call in progress, and neither the client nor anyone else
 * can free, unnest or move any of those while this call runs. The pop
 * that brought r out unnested it, which the kernel allows only in a tree
 * the driver owns: r is the driver's now, so the device may have its
 * address. (A handle only lent passes open, but its pop fails: it is
 * never posted and comes back in its deque.)
 */
long net_packet_bus(const struct net_deque_seen *s, uint32_t i, rref_t r)
{
	if (i < s->n && s->seen[i] == r)
		return (long)s->bus[i];
	return rref_bus(r, sizeof(struct NetPacket));
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
