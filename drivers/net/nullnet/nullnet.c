/*
 * nullnet: the software Net driver (domains/idl/net.idl), for measuring what
 * a crossing and a shadow cost without a device, as RedLeaf's nullnet did.
 * Every transmit completes and every receive is filled at once, in place:
 * the buffers stay in the batch's deques, each TX one marked sent and each
 * RX one a NULLNET_FRAME-byte frame (its payload untouched: no copies), and
 * the batch goes straight back.
 */
#include <net/net_batch.h>
#include <net/nullnet/nullnet.h>

#define NULLNET_FRAME 60		 /* the shortest Ethernet frame without FCS */
#define NULLNET_MAC   0x0000563412005aUL /* 5a:00:12:34:56:00, locally administered */

static uint64_t counters[NetCounter_COUNT];

static void count(enum NetCounter c, uint64_t n)
{
	__atomic_add_fetch(&counters[c], n, __ATOMIC_RELAXED);
}

static long submit_and_poll(rref_t batch, rref_t *out)
{
	struct net_batch b;
	/* Its "rings" are the deques themselves: any batch fits. */
	long rc = net_batch_open(batch, NetPacket_deque32_CAP, NetPacket_deque32_CAP, &b);
	if (rc < 0) {
		count(NET_TX_ERRORS, 1);
		return net_batch_refuse(batch, rc, out);
	}
	uint64_t bytes = 0;
	for (uint32_t i = 0; i < b.ntx; i++) {
		struct NetPacket *p = NetPacket_ptr(NetPacket_deque32_get(b.tx, i));
		bytes += __atomic_load_n(&p->len, __ATOMIC_RELAXED);
		p->status = 0;
	}
	for (uint32_t i = 0; i < b.nrx; i++) {
		struct NetPacket *p = NetPacket_ptr(NetPacket_deque32_get(b.rx, i));
		p->len = NULLNET_FRAME;
		p->status = 0;
	}
	count(NET_TX_PACKETS, b.ntx);
	count(NET_TX_BYTES, bytes);
	count(NET_RX_PACKETS, b.nrx);
	count(NET_RX_BYTES, (uint64_t)b.nrx * NULLNET_FRAME);
	return net_batch_close(&b, 0, b.ntx, b.nrx, out);
}

static long link(void)
{
	return 1;
}

static long mac(void)
{
	return (long)NULLNET_MAC;
}

static long counter(uint32_t which)
{
	if (which >= NetCounter_COUNT)
		return -MAPLE_EINVAL;
	return (long)__atomic_load_n(&counters[which], __ATOMIC_RELAXED);
}

const struct Net_impl nullnet_impl = {
	.submit_and_poll = submit_and_poll,
	.link = link,
	.mac = mac,
	.counter = counter,
};
