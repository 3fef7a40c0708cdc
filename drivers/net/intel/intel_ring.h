/*
 * The descriptor-ring core shared by the Intel NIC drivers (igb, the 82576;
 * the 82599 later): the advanced receive and transmit descriptor formats,
 * the per-queue register block, and the rings of NetPacket RRefs built on
 * them. Both chips lay these out the same way, so a chip adds only where
 * its queue blocks start (struct intel_queue_map) and its own reset, link
 * and start-up sequence. Section numbers are the 82576 datasheet's (Intel
 * 82576EB GbE Controller Datasheet, rev 2.x); the 82599 datasheet has the
 * same layouts in its 7.1.6 (RX) and 7.2.3 (TX) and 8.2.3.8/8.2.3.9.
 */
#ifndef DRIVERS_NET_INTEL_RING_H
#define DRIVERS_NET_INTEL_RING_H

#include <net/net_serve.h>
#include <stddef.h>
#include <stdint.h>

/* Per-queue registers, offsets inside queue n's block, which starts at the
 * chip's rx_base / tx_base + n * INTEL_QUEUE_STRIDE (82576 8.10 and 8.12:
 * RDBAL 0xC000 + 0x40*n ...; 82599 8.2.3.8 and 8.2.3.9: 0x1000 + 0x40*n
 * and 0x6000 + 0x40*n). */
#define INTEL_QUEUE_STRIDE 0x40
#define INTEL_RDBAL	   0x00 /* 8.10.5: ring base, low 32 bits (128-byte aligned) */
#define INTEL_RDBAH	   0x04 /* 8.10.6: ring base, high 32 bits */
#define INTEL_RDLEN	   0x08 /* 8.10.7: ring bytes, a multiple of 128 */
#define INTEL_RDH	   0x10 /* 8.10.8: head, the device's next descriptor */
#define INTEL_RDT	   0x18 /* 8.10.9: tail, one past the last one software gave */
#define INTEL_RXDCTL	   0x28 /* 8.10.10: queue enable */
#define INTEL_TDBAL	   0x00 /* 8.12.9 */
#define INTEL_TDBAH	   0x04 /* 8.12.10 */
#define INTEL_TDLEN	   0x08 /* 8.12.11 */
#define INTEL_TDH	   0x10 /* 8.12.12 */
#define INTEL_TDT	   0x18 /* 8.12.13 */
#define INTEL_TXDCTL	   0x28 /* 8.12.14: queue enable */
_Static_assert(INTEL_RXDCTL < INTEL_QUEUE_STRIDE && INTEL_TXDCTL < INTEL_QUEUE_STRIDE,
	       "every per-queue register lies inside its 0x40-byte block");
_Static_assert(INTEL_RDBAH == INTEL_RDBAL + 4 && INTEL_TDBAH == INTEL_TDBAL + 4,
	       "the base is two 32-bit halves, low first");
#define INTEL_QUEUE_ENABLE (1u << 25) /* RXDCTL/TXDCTL bit 25 (8.10.10, 8.12.14) */

/* SRRCTL (82576 8.10.2; its offset in the block differs between the chips,
 * so the queue map gives it): receive buffer size and descriptor type. */
#define INTEL_SRRCTL_BSIZEPKT_SHIFT 0 /* bits 6:0, in 1 KiB units */
#define INTEL_SRRCTL_BSIZEPKT_MASK  0x7fu
#define INTEL_SRRCTL_DESCTYPE_SHIFT 25 /* bits 27:25 */
#define INTEL_SRRCTL_DESCTYPE_ADV1  1u /* advanced, one buffer */
#define INTEL_RX_BUF_KIB	    2u /* receive buffer size programmed */
/* The longest frame the device stores with long packets off (82576 8.10.1
 * RCTL.LPE = 0; 82599 MAXFRS): 1518 bytes plus a VLAN tag. */
#define INTEL_MAX_FRAME_NO_LPE 1522

/*
 * Advanced receive descriptor (7.1.5), 16 bytes. Read format (7.1.5.1), what
 * software writes: the packet buffer's bus address, then the header
 * buffer's (0: no header split). Write-back format (7.1.5.2), what the
 * device writes over it once the buffer is filled: in the second quadword,
 * the extended status (bits 19:0) and errors (31:20) at byte 8 and the
 * packet length (15:0) at byte 12.
 */
struct intel_rx_desc {
	uint64_t pkt_addr; /* read: packet buffer; write-back: RSS and packet type */
	uint64_t hdr_addr; /* read: header buffer; write-back: status, error, length, VLAN */
};
_Static_assert(sizeof(struct intel_rx_desc) == 16, "7.1.5: 16-byte descriptors");
#define INTEL_RXD_STATUS_OFF 8	/* the extended status/error dword */
#define INTEL_RXD_LEN_OFF    12 /* PKT_LEN, bits 15:0 */
_Static_assert(INTEL_RXD_STATUS_OFF == offsetof(struct intel_rx_desc, hdr_addr),
	       "7.1.5.2: status overlays the header buffer address");
_Static_assert(INTEL_RXD_LEN_OFF + 2 <= sizeof(struct intel_rx_desc), "7.1.5.2: PKT_LEN");
#define INTEL_RXD_STAT_DD   (1u << 0)  /* descriptor done */
#define INTEL_RXD_STAT_EOP  (1u << 1)  /* end of packet */
#define INTEL_RXD_ERR_RXE   (1u << 29) /* 7.1.5.2 extended errors: frame error (CRC, symbol) */
#define INTEL_RXD_ERR_HBO   (1u << 23) /* header buffer overflow */
#define INTEL_RXD_ERR_FRAME (INTEL_RXD_ERR_RXE | INTEL_RXD_ERR_HBO)

/*
 * Advanced transmit data descriptor (7.2.2.3), 16 bytes: the buffer's bus
 * address, then DTALEN (15:0), DTYP (23:20) = 0011 for data, DCMD (31:24)
 * and, in the top dword, STA (3:0, DD written back) and PAYLEN (31:14).
 */
struct intel_tx_desc {
	uint64_t addr;
	uint32_t cmd_type_len;
	uint32_t olinfo_status;
};
_Static_assert(sizeof(struct intel_tx_desc) == 16, "7.2.2.3: 16-byte descriptors");
_Static_assert(offsetof(struct intel_tx_desc, cmd_type_len) == 8 &&
		       offsetof(struct intel_tx_desc, olinfo_status) == 12,
	       "7.2.2.3: DTALEN/DTYP/DCMD at byte 8, STA/PAYLEN at byte 12");
#define INTEL_TXD_DTALEN_MASK  0xffffu
#define INTEL_TXD_DTYP_DATA    (3u << 20)
#define INTEL_TXD_CMD_EOP      (1u << 24)
#define INTEL_TXD_CMD_IFCS     (1u << 25) /* the device appends the FCS */
#define INTEL_TXD_CMD_RS       (1u << 27) /* report status: write DD back */
#define INTEL_TXD_CMD_DEXT     (1u << 29) /* advanced format */
#define INTEL_TXD_PAYLEN_SHIFT 14
#define INTEL_TXD_STA_DD       (1u << 0)

/* Where a chip's queue register blocks are and SRRCTL's drop-enable bit
 * (the only per-chip parts of the rings): 82576 0xC000 / 0xE000 / SRRCTL at
 * 0x0C, Drop_En bit 31 (8.10.2); 82599 0x1000 / 0x6000 / SRRCTL at 0x14,
 * Drop_En bit 28 (82599 8.2.3.8.7). Drop_En: a frame for an empty ring is
 * dropped, not held in the packet buffer stalling the port. */
struct intel_queue_map {
	uint32_t rx_base, tx_base, srrctl, srrctl_drop_en;
};

/* Descriptors per ring: 2 KiB of them in a 4 KiB DMA page. 128, like
 * virtio-net's 128 buffers a queue, so a client sees the same room. */
#define INTEL_RING_SIZE 128
_Static_assert(INTEL_RING_SIZE * sizeof(struct intel_rx_desc) <= 4096 &&
		       (INTEL_RING_SIZE * sizeof(struct intel_rx_desc)) % 128 == 0,
	       "8.10.7/8.12.11: the ring length is a multiple of 128 bytes; one page");

/* A receive or transmit ring of queue `queue` and the NetPackets it holds.
 * Slots [head, tail) are the device's; software owns the rest. One slot
 * stays empty (tail == head means empty, 8.10.9). */
struct intel_ring {
	volatile uint8_t *regs; /* BAR 0 */
	uint32_t block;		/* this queue's register block */
	bool rx;
	void *desc; /* INTEL_RING_SIZE descriptors in DMA memory */
	uint16_t head, tail;
	bool moved;   /* tail advanced since the last intel_ring_flush */
	bool discard; /* RX: inside a frame whose start was dropped (no EOP yet) */
	rref_t held[INTEL_RING_SIZE];
	uint32_t posted_len[INTEL_RING_SIZE];
};

/*
 * Lay out and program queue `queue`'s ring (8.10: RDBAL/RDBAH/RDLEN,
 * SRRCTL for advanced one-buffer descriptors of 2 KiB, RDH = RDT = 0,
 * RXDCTL.ENABLE, which reads back set when the queue runs; 8.12 likewise
 * for TX). 0, or -error logged with `who`.
 */
long intel_ring_init(struct intel_ring *r, const char *who, volatile uint8_t *regs,
		     const struct intel_queue_map *map, unsigned queue, bool rx);
/* Descriptors software may still post. */
uint32_t intel_ring_room(const struct intel_ring *r);
/* Buffers the device holds. */
uint32_t intel_ring_held(const struct intel_ring *r);
/* Post NetPacket p (owned here, checked whole; the struct at bus address
 * `bus`): RX, its whole data; TX, len bytes of it. The tail register is
 * written by intel_ring_flush. */
void intel_ring_post(struct intel_ring *r, rref_t p, uint64_t bus, uint32_t len);
/* One tail write for everything posted since the last (7.1.4, 7.2.1.2). */
void intel_ring_flush(struct intel_ring *r);

/* The oldest completed descriptor's buffer in *p, handed back to
 * software: NET_REAPED_DONE (RX: *len the frame's length; TX: the posted
 * one), NET_REAPED_MALFORMED (RX: length under 14 or over the MTU, an
 * error bit, or no EOP) or NET_REAPED_NONE. */
enum net_reaped intel_ring_reap(struct intel_ring *r, rref_t *p, uint32_t *len);

#endif
