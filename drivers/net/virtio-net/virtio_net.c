/*
 * virtio_net: the virtio network driver (Net, domains/idl/net.idl) for the
 * PCI function the kernel grants it, `net0` (a modern virtio-net device,
 * 1af4:1041). Polled, one receive and one transmit split virtqueue.
 *
 * Start (virtio 1.1, 3.1.1 and 5.1.5): find the register blocks
 * (virtio_pci.c), reset, negotiate VIRTIO_F_VERSION_1 (needed), MAC and
 * STATUS (used if offered) but not MRG_RXBUF (each receive buffer holds a
 * whole frame, so every frame is one buffer and num_buffers is 1), set up
 * receiveq1 and transmitq1 in DMA memory, enable bus mastering, DRIVER_OK;
 * net_watch_link then gives the link a second to come up, and logs if not.
 *
 * Buffers: each frame is a chain of two descriptors (2.6.5), pair p being
 * descriptors 2p and 2p+1: this driver's 12-byte virtio_net_hdr (5.1.6) in
 * its own DMA memory, then the NetPacket's data, by its RRef's bus address
 * (no copy). While a buffer is posted the driver owns its RRef (it was
 * moved in with the batch), so if the driver dies the kernel stops the
 * device (Bus Master off, device_status = 0) before it frees them.
 */
#include <net/net_serve.h>
#include <net/virtio-net/virtio_net.h>
#include <net/virtio-net/virtio_pci.h>

#define DEVICE	   "net0"
#define VQ_MAX	   256 /* entries per queue this driver lays out memory for */
#define PAIRS	   (VQ_MAX / 2)
#define HDR	   sizeof(struct virtio_net_hdr)
#define ETH_HEADER 14

/* One split virtqueue (2.6) in one DMA region: descriptor table, available
 * ring, used ring, and one net header per pair, a page each. */
struct vq {
	uint16_t size, pairs; /* entries, and buffers it can hold */
	volatile struct virtq_desc *desc;
	volatile uint16_t *avail;   /* flags, idx, ring[size] (2.6.6) */
	volatile uint8_t *used;	    /* flags, idx, elems (2.6.8) */
	struct virtio_net_hdr *hdr; /* hdr[pair] */
	uint64_t hdr_bus;
	volatile uint16_t *notify;
	uint16_t avail_idx, used_idx; /* next to publish, next to consume */
	rref_t held[PAIRS];	      /* the NetPacket each posted pair carries */
	uint32_t posted_len[PAIRS];   /* and the length each was posted with */
	uint16_t free[PAIRS], nfree;  /* pairs not posted */
	bool kick;		      /* buffers added since the last notify */
};
#define VQ_PAGES 4

static struct virtio_pci dev;
static struct vq rxq, txq;
static bool link_status; /* VIRTIO_NET_F_STATUS negotiated */
static uint64_t mac_addr;

static long vq_init(struct vq *q, uint16_t index)
{
	uint16_t max = virtio_pci_queue_max(&dev, index);
	uint16_t size = max < VQ_MAX ? max : VQ_MAX;
	if (size < 2 || (size & (size - 1))) { /* 2.6: a power of two */
		dom_printf("virtio_net: %s: queue %u has size %u; need a power of two >= 2", DEVICE,
			   index, max);
		return -MAPLE_EINVAL;
	}
	long va = maple_dma_alloc(VQ_PAGES * 4096);
	if (va < 0)
		return va;
	long bus = maple_dma_bus((void *)va);
	if (bus < 0)
		return bus;
	*q = (struct vq){.size = size, .pairs = size / 2};
	q->desc = (volatile struct virtq_desc *)va;
	q->avail = (volatile uint16_t *)(va + 4096);
	q->used = (volatile uint8_t *)(va + 2 * 4096);
	q->hdr = (struct virtio_net_hdr *)(va + 3 * 4096);
	q->hdr_bus = (uint64_t)bus + 3 * 4096;
	_Static_assert(VQ_MAX * sizeof(struct virtq_desc) <= 4096, "2.6: descriptor table");
	_Static_assert(VIRTQ_AVAIL_RING + 2 * VQ_MAX + 2 <= 4096, "2.6: available ring");
	_Static_assert(VIRTQ_USED_RING + 8 * VQ_MAX + 2 <= 4096, "2.6: used ring");
	_Static_assert(PAIRS * HDR <= 4096, "net headers");
	q->avail[VIRTQ_AVAIL_FLAGS / 2] = VIRTQ_AVAIL_F_NO_INTERRUPT;
	for (uint16_t p = 0; p < q->pairs; p++) {
		q->free[q->nfree++] = (uint16_t)(q->pairs - 1 - p);
		q->desc[2 * p].addr = q->hdr_bus + p * HDR;
		q->desc[2 * p].len = HDR;
		q->desc[2 * p].next = (uint16_t)(2 * p + 1);
	}
	return virtio_pci_queue(&dev, index, size, (uint64_t)bus, (uint64_t)bus + 4096,
				(uint64_t)bus + 2 * 4096, &q->notify);
}

/* Post packet r (owned here; its whole NetPacket at bus address `bus`,
 * checked by net_serve) as a chain: header, then len bytes of its data;
 * `write` for receive buffers (2.6.5: VIRTQ_DESC_F_WRITE). */
static void vq_post(struct vq *q, rref_t r, uint64_t bus, uint32_t len, bool write)
{
	uint16_t p = q->free[--q->nfree];
	uint16_t flags = write ? VIRTQ_DESC_F_WRITE : 0;
	q->held[p] = r;
	q->posted_len[p] = len;
	__builtin_memset(&q->hdr[p], 0, HDR);
	q->desc[2 * p].flags = (uint16_t)(flags | VIRTQ_DESC_F_NEXT);
	q->desc[2 * p + 1].addr = bus + offsetof(struct NetPacket, data);
	q->desc[2 * p + 1].len = len;
	q->desc[2 * p + 1].flags = flags;
	/* 2.6.13.2: the ring entry, then (after a barrier) the index. */
	q->avail[VIRTQ_AVAIL_RING / 2 + (q->avail_idx & (q->size - 1))] = (uint16_t)(2 * p);
	q->avail_idx++;
	q->kick = true;
}

/*
 * 2.6.13.3-4: publish the new avail idx, then one notify for the batch,
 * unless the device set VIRTQ_USED_F_NO_NOTIFY (2.6.10.1: the driver
 * SHOULD NOT notify then; QEMU sets it while its transmit handler is
 * already scheduled, and rereads the available ring after clearing it).
 * A notify is an MMIO write, one exit to the device model under TCG.
 * The flag is read after the idx is published (the full fence), so a
 * device that clears it and then checks the ring sees this batch either
 * way; the flag only ever costs a notify the device did not need.
 */
static void vq_kick(struct vq *q, uint16_t index)
{
	if (!q->kick)
		return;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	q->avail[VIRTQ_AVAIL_IDX / 2] = q->avail_idx;
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* the idx before the flag and the notify */
	q->kick = false;
	uint16_t flags = *(volatile uint16_t *)(q->used + VIRTQ_USED_FLAGS);
	if (flags & VIRTQ_USED_F_NO_NOTIFY)
		return;
	*q->notify = index;
}

/*
 * The next used element (2.6.8): its pair's packet, the length the device
 * wrote and the length it was posted with, or RREF_NULL when there is none. An element naming no
 * posted chain head is malformed: counted (NET_RX_ERRORS) and skipped.
 */
static rref_t vq_next_used(struct vq *q, uint32_t *len, uint32_t *posted)
{
	for (;;) {
		uint16_t idx = __atomic_load_n((volatile uint16_t *)(q->used + VIRTQ_USED_IDX),
					       __ATOMIC_ACQUIRE);
		if (idx == q->used_idx)
			return RREF_NULL;
		const volatile struct virtq_used_elem *e =
			(const volatile struct virtq_used_elem *)(q->used + VIRTQ_USED_RING) +
			(q->used_idx & (q->size - 1));
		uint32_t id = e->id;
		*len = e->len;
		q->used_idx++;
		if (id % 2 || id / 2 >= q->pairs || !q->held[id / 2]) {
			net_count(NET_RX_ERRORS, 1);
			continue;
		}
		rref_t r = q->held[id / 2];
		*posted = q->posted_len[id / 2];
		q->held[id / 2] = RREF_NULL;
		q->free[q->nfree++] = (uint16_t)(id / 2);
		return r;
	}
}

/* The rings for net_serve: receiveq1 and transmitq1. */
static struct vq *queue(bool rx)
{
	return rx ? &rxq : &txq;
}

static uint32_t room(bool rx)
{
	return queue(rx)->nfree;
}

static uint32_t held(bool rx)
{
	return (uint32_t)(queue(rx)->pairs - queue(rx)->nfree);
}

static void post(bool rx, rref_t r, uint64_t bus, uint32_t len)
{
	vq_post(queue(rx), r, bus, rx ? (uint32_t)sizeof(((struct NetPacket *)0)->data) : len, rx);
}

static void flush(bool rx)
{
	vq_kick(queue(rx), rx ? VIRTIO_NET_RXQ : VIRTIO_NET_TXQ);
}

static enum net_reaped reap(bool rx, rref_t *p, uint32_t *len)
{
	uint32_t used, posted;
	rref_t r = vq_next_used(queue(rx), &used, &posted);
	if (!r)
		return NET_REAPED_NONE;
	*p = r;
	if (!rx) {
		*len = posted;
		return NET_REAPED_DONE;
	}
	/* 5.1.6.4: the used length counts the header; a frame shorter than
	 * an Ethernet header or longer than the buffer is malformed. */
	if (used < HDR + ETH_HEADER || used > HDR + NET_MTU_FRAME)
		return NET_REAPED_MALFORMED;
	*len = used - (uint32_t)HDR;
	return NET_REAPED_DONE;
}

static const struct net_rings rings = {
	.room = room, .held = held, .post = post, .flush = flush, .reap = reap};

static long submit_and_poll(rref_t batch, rref_t *out)
{
	return net_serve(&rings, batch, out);
}

static bool link_up(void)
{
	if (!link_status)
		return true; /* 5.1.4.2: without STATUS, assume the link is up */
	uint16_t st = 0;
	virtio_pci_read_device(&dev, VIRTIO_NET_CFG_STATUS, &st, sizeof st);
	return st & VIRTIO_NET_S_LINK_UP;
}

static long link(void)
{
	return link_up();
}

static long mac(void)
{
	return (long)mac_addr;
}

/* Bring the device up (5.1.5 Device Initialization); 0 or -error, logged. */
static long start(void)
{
	long rc = virtio_pci_find(&dev, DEVICE);
	uint64_t got = 0;
	if (rc == 0)
		rc = virtio_pci_negotiate(
			&dev, VIRTIO_F_VERSION_1 | VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS,
			VIRTIO_F_VERSION_1, &got);
	if (rc == 0)
		rc = vq_init(&rxq, VIRTIO_NET_RXQ);
	if (rc == 0)
		rc = vq_init(&txq, VIRTIO_NET_TXQ);
	if (rc == 0)
		rc = maple_device_busmaster(DEVICE, 1);
	if (rc < 0)
		return rc;
	virtio_pci_driver_ok(&dev);
	link_status = got & VIRTIO_NET_F_STATUS;
	uint8_t m[6] = {0};
	if (got & VIRTIO_NET_F_MAC)
		virtio_pci_read_device(&dev, VIRTIO_NET_CFG_MAC, m, sizeof m);
	else
		dom_printf("virtio_net: %s: the device gives no MAC address; reporting 0", DEVICE);
	for (int i = 0; i < 6; i++)
		mac_addr |= (uint64_t)m[i] << (8 * i);
	dom_printf("virtio_net: %s: up, mac %02x:%02x:%02x:%02x:%02x:%02x, features %#lx, "
		   "queues %u/%u, link %s",
		   DEVICE, m[0], m[1], m[2], m[3], m[4], m[5], (unsigned long)got, rxq.size,
		   txq.size, link_up() ? "up" : "down");
	return 0;
}

long virtio_net_start(void)
{
	long rc = start();
	return rc < 0 ? rc : net_watch_link("virtio_net", DEVICE, "VIRTIO_NET_S_LINK_UP", link_up);
}

const struct Net_impl virtio_net_impl = {
	.submit_and_poll = submit_and_poll,
	.link = link,
	.mac = mac,
	.counter = net_counter,
};
