/*
 * The Intel descriptor rings (intel_ring.h): one queue's ring of advanced
 * descriptors in DMA memory, posting NetPacket RRefs by their bus
 * addresses (no copy) and reaping what the device completed.
 *
 * Trust: descriptors are DMA memory the device (or anything playing it)
 * writes, so every write-back field is read once and checked before use:
 * the slot a completion names is always the driver's own head (the device
 * gives no index to trust), a length is checked against the buffer, and a
 * frame without EOP or with an error bit is dropped whole.
 */
#include <net/intel/intel_ring.h>

#define BUF_BYTES sizeof(((struct NetPacket *)0)->data)
#define ETH_MIN	  14 /* a frame has at least its Ethernet header */

static void wr(struct intel_ring *r, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(r->regs + r->block + off) = v;
}

static uint32_t rd(struct intel_ring *r, uint32_t off)
{
	return *(volatile uint32_t *)(r->regs + r->block + off);
}

long intel_ring_init(struct intel_ring *r, const char *who, volatile uint8_t *regs,
		     const struct intel_queue_map *map, unsigned queue, bool rx)
{
	long va = maple_dma_alloc(4096);
	if (va < 0)
		return va;
	long bus = maple_dma_bus((void *)va);
	if (bus < 0)
		return bus;
	*r = (struct intel_ring){.regs = regs,
				 .block = (rx ? map->rx_base : map->tx_base) +
					  queue * INTEL_QUEUE_STRIDE,
				 .rx = rx,
				 .desc = (void *)va};
	/* 8.10.5-8.10.9 (RX) and 8.12.9-8.12.13 (TX) share offsets. */
	_Static_assert(INTEL_RDBAL == INTEL_TDBAL && INTEL_RDLEN == INTEL_TDLEN &&
			       INTEL_RDH == INTEL_TDH && INTEL_RDT == INTEL_TDT &&
			       INTEL_RXDCTL == INTEL_TXDCTL,
		       "RX and TX queue blocks have the same shape");
	wr(r, INTEL_RDBAL, (uint32_t)bus);
	wr(r, INTEL_RDBAH, (uint32_t)((uint64_t)bus >> 32));
	wr(r, INTEL_RDLEN, INTEL_RING_SIZE * 16);
	/* 8.10.2: advanced one-buffer descriptors, 2 KiB buffers. NetPacket.data
	 * holds 2040 bytes, not 2048: the device writes past it only for a
	 * frame over 2040 bytes, and the chip's reset leaves long frames off
	 * (82576 8.10.1 RCTL.LPE = 0: frames over 1522 bytes are discarded),
	 * which the chip driver must keep so. */
	if (rx)
		*(volatile uint32_t *)(regs + map->rx_base + queue * INTEL_QUEUE_STRIDE +
				       map->srrctl) =
			(INTEL_SRRCTL_DESCTYPE_ADV1 << INTEL_SRRCTL_DESCTYPE_SHIFT) |
			(INTEL_RX_BUF_KIB << INTEL_SRRCTL_BSIZEPKT_SHIFT) | map->srrctl_drop_en;
	_Static_assert(INTEL_RX_BUF_KIB * 1024 >= NET_MTU_FRAME &&
			       INTEL_MAX_FRAME_NO_LPE <= BUF_BYTES,
		       "a 2 KiB buffer holds a frame; the longest frame fits NetPacket.data");
	wr(r, INTEL_RDH, 0);
	wr(r, INTEL_RDT, 0);
	wr(r, INTEL_RXDCTL, rd(r, INTEL_RXDCTL) | INTEL_QUEUE_ENABLE);
	/* 8.10.10/8.12.14: software polls ENABLE until it reads back set. */
	uint64_t deadline = maple_clock_ns() + 10000000;
	while (!(rd(r, INTEL_RXDCTL) & INTEL_QUEUE_ENABLE)) {
		if (maple_clock_ns() > deadline) {
			dom_printf("%s: %s queue %u: %sDCTL.ENABLE does not read back set", who,
				   rx ? "receive" : "transmit", queue, rx ? "RX" : "TX");
			return -MAPLE_EIO;
		}
		maple_sleep_ns(100000);
	}
	return 0;
}

uint32_t intel_ring_held(const struct intel_ring *r)
{
	return (uint16_t)(r->tail - r->head) % INTEL_RING_SIZE;
}

uint32_t intel_ring_room(const struct intel_ring *r)
{
	return INTEL_RING_SIZE - 1 - intel_ring_held(r);
}

void intel_ring_post(struct intel_ring *r, rref_t p, uint64_t bus, uint32_t len)
{
	if (r->rx)
		len = BUF_BYTES;
	uint64_t data = bus + offsetof(struct NetPacket, data);
	uint16_t t = r->tail;
	if (r->rx) {
		volatile struct intel_rx_desc *d = (volatile struct intel_rx_desc *)r->desc + t;
		d->pkt_addr = data;
		d->hdr_addr = 0; /* no header split; clears DD of the last write-back */
	} else {
		volatile struct intel_tx_desc *d = (volatile struct intel_tx_desc *)r->desc + t;
		d->addr = data;
		d->cmd_type_len = (len & INTEL_TXD_DTALEN_MASK) | INTEL_TXD_DTYP_DATA |
				  INTEL_TXD_CMD_EOP | INTEL_TXD_CMD_IFCS | INTEL_TXD_CMD_RS |
				  INTEL_TXD_CMD_DEXT;
		d->olinfo_status = len << INTEL_TXD_PAYLEN_SHIFT;
	}
	r->held[t] = p;
	r->posted_len[t] = len;
	r->tail = (uint16_t)((t + 1) % INTEL_RING_SIZE);
	r->moved = true;
}

void intel_ring_flush(struct intel_ring *r)
{
	if (!r->moved)
		return;
	/* The descriptors before the tail that hands them over (7.1.4). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	wr(r, INTEL_RDT, r->tail);
	r->moved = false;
}

enum net_reaped intel_ring_reap(struct intel_ring *r, rref_t *p, uint32_t *len)
{
	uint16_t h = r->head;
	if (h == r->tail)
		return NET_REAPED_NONE;
	volatile uint32_t *words = (volatile uint32_t *)((volatile uint8_t *)r->desc + 16 * h);
	uint32_t status = __atomic_load_n(&words[INTEL_RXD_STATUS_OFF / 4], __ATOMIC_ACQUIRE);
	_Static_assert(offsetof(struct intel_tx_desc, olinfo_status) == INTEL_RXD_STATUS_OFF + 4,
		       "TX STA is one dword after the RX status");
	if (!r->rx) {
		if (!(__atomic_load_n(&words[3], __ATOMIC_ACQUIRE) & INTEL_TXD_STA_DD))
			return NET_REAPED_NONE;
	} else if (!(status & INTEL_RXD_STAT_DD)) {
		return NET_REAPED_NONE;
	}
	*p = r->held[h];
	uint32_t posted = r->posted_len[h];
	r->held[h] = RREF_NULL;
	r->head = (uint16_t)((h + 1) % INTEL_RING_SIZE);
	if (!r->rx) {
		*len = posted;
		return NET_REAPED_DONE;
	}
	/* 7.1.5.2: read once; the writer may still be at it. */
	uint32_t n = words[INTEL_RXD_LEN_OFF / 4] & 0xffff;
	bool eop = status & INTEL_RXD_STAT_EOP;
	bool was_discarding = r->discard;
	r->discard = !eop; /* the rest of a frame without EOP is dropped too */
	if (was_discarding || !eop || (status & INTEL_RXD_ERR_FRAME) || n < ETH_MIN ||
	    n > NET_MTU_FRAME)
		return NET_REAPED_MALFORMED;
	*len = n;
	return NET_REAPED_DONE;
}
