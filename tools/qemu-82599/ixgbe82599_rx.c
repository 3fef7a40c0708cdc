/*
 * Intel 82599 model (ixgbe82599.h): the RX path (7.1). A frame from the
 * netdev or the MAC loopback passes the L2 filters and goes to RX queue 0
 * (no RSS or pools are modelled), over as many descriptors as it needs,
 * with advanced or legacy write-back. A frame that finds no room waits in
 * QEMU's queue unless SRRCTL.DROP_EN asks for a drop.
 *
 * This file is part of the Maple OS project; it is licensed under the GNU
 * GPL, version 2 or later, like the QEMU it is built into.
 */

/* QEMU's rule: osdep.h comes first, alone in its block. */
#include "qemu/osdep.h"

#include "ixgbe82599.h"
#include "net/eth.h"
#include "qemu/log.h"
#include "system/dma.h"
#include <zlib.h>

/* Free descriptors of RX queue q (those between head and tail), 0 when the
 * ring registers are inconsistent. */
static uint32_t rx_free(Ixgbe82599State *s, unsigned q)
{
	struct ring r;
	return ring_read(s, rxq_base(q), &r) ? (r.tail + r.n - r.head) % r.n : 0;
}

static uint32_t rx_bufsize(Ixgbe82599State *s, unsigned q)
{
	uint32_t kib = reg(s, rxq_base(q) + Q_SRRCTL) & SRRCTL_BSIZEPKT;
	return kib ? kib * 1024 : 2048; /* 0: the 2 KiB default (8.2.3.8.7) */
}

static bool rx_enabled(Ixgbe82599State *s)
{
	return (reg(s, RXCTRL) & RXCTRL_RXEN) && i82599_link_up(s);
}

/* L2 filtering (7.1.1): exact unicast (RAL/RAH with AV), the multicast hash
 * table (MTA, bits chosen by MCSTCTRL.MO), broadcast (FCTRL.BAM), and the
 * promiscuous bits FCTRL.UPE / FCTRL.MPE. */
static bool rx_accept(Ixgbe82599State *s, const uint8_t *da)
{
	uint32_t fctrl = reg(s, FCTRL);

	if (is_broadcast_ether_addr(da)) {
		return fctrl & FCTRL_BAM;
	}
	if (is_multicast_ether_addr(da)) {
		if (fctrl & FCTRL_MPE) {
			return true;
		}
		if (!(reg(s, MCSTCTRL) & MCSTCTRL_MFE)) {
			return false;
		}
		static const unsigned shift[4] = {4, 3, 2, 0};
		unsigned mo = reg(s, MCSTCTRL) & 3;
		uint32_t hash =
			((da[4] >> shift[mo]) | ((uint32_t)da[5] << (8 - shift[mo]))) & 0xfff;
		return reg(s, MTA0 + (hash >> 5) * 4) & (1u << (hash & 31));
	}
	if (fctrl & FCTRL_UPE) {
		return true;
	}
	uint32_t lo = da[0] | da[1] << 8 | da[2] << 16 | (uint32_t)da[3] << 24;
	uint32_t hi = da[4] | da[5] << 8;
	for (unsigned i = 0; i < 128; i++) {
		uint32_t rah = reg(s, RAH0 + i * 8);
		if ((rah & RAH_AV) && (rah & 0xffff) == hi && reg(s, RAL0 + i * 8) == lo) {
			return true;
		}
	}
	return false;
}

static void count_rx(Ixgbe82599State *s, const uint8_t *frame, size_t len)
{
	s->gprc++;
	s->tpr++;
	s->gorc += len + 4;
	s->tor += len + 4;
	if (is_broadcast_ether_addr(frame)) {
		s->bprc++;
	} else if (is_multicast_ether_addr(frame)) {
		s->mprc++;
	}
}

/*
 * Put one frame into RX queue 0 (no RSS or pools are modelled, so every
 * frame goes there). Returns false when the ring lacks room and the frame
 * should wait (QEMU queues it; a tail write flushes the queue).
 */
static bool rx_put(Ixgbe82599State *s, const uint8_t *buf, size_t size)
{
	PCIDevice *d = PCI_DEVICE(s);
	const unsigned q = 0;
	hwaddr b = rxq_base(q);
	uint32_t srrctl = reg(s, b + Q_SRRCTL);
	uint32_t bufsize = rx_bufsize(s, q);
	uint8_t *frame = s->rxbuf;
	size_t len = MIN(size, (size_t)MAX_FRAME);

	memcpy(frame, buf, len);
	if (len < MIN_FRAME) { /* a short frame from the netdev: pad as the wire would */
		memset(frame + len, 0, MIN_FRAME - len);
		len = MIN_FRAME;
	}
	if (!(reg(s, HLREG0) & HLREG0_RXCRCSTRP)) {
		stl_le_p(frame + len, crc32(0, frame, len)); /* keep the FCS (8.2.3.22.8) */
		len += 4;
	}
	uint32_t need = DIV_ROUND_UP(len, bufsize);
	if (!(reg(s, b + Q_DCTL) & XDCTL_ENABLE)) {
		s->mpc++; /* no queue to take it: missed (8.2.3.23.4) */
		return true;
	}
	if (rx_free(s, q) < need) {
		if (srrctl & SRRCTL_DROP_EN) {
			s->mpc++;
			return true;
		}
		return false;
	}
	struct ring ring;
	ring_read(s, b, &ring); /* usable: rx_free() found room in it */
	uint32_t head = ring.head;
	bool advanced = SRRCTL_DESCTYPE(srrctl) != 0;
	size_t done = 0;

	count_rx(s, frame, len);
	while (done < len) {
		dma_addr_t at = ring.base + head * 16ull;
		uint8_t desc[16];
		if (pci_dma_read(d, at, desc, sizeof(desc)) != MEMTX_OK) {
			qemu_log_mask(LOG_GUEST_ERROR,
				      "ixgbe82599: RX queue %u: descriptor "
				      "read at 0x%" PRIx64 " failed\n",
				      q, (uint64_t)at);
			return true;
		}
		uint32_t chunk = MIN(len - done, (size_t)bufsize);
		pci_dma_write(d, ldq_le_p(desc), frame + done, chunk);
		done += chunk;
		uint8_t status = RXD_STAT_DD | (done == len ? RXD_STAT_EOP : 0);
		memset(desc, 0, sizeof(desc));
		if (advanced) {
			/* Advanced write-back (7.1.6.2): status/error dword at byte 8,
			 * PKT_LEN at byte 12. No packet type, hash or checksum is
			 * reported, so the driver checks checksums itself. */
			stl_le_p(desc + 8, status);
			stw_le_p(desc + 12, chunk);
		} else {
			/* Legacy write-back (7.1.5): length at 8, status at 12. */
			stw_le_p(desc + 8, chunk);
			desc[12] = status;
		}
		pci_dma_write(d, at, desc, sizeof(desc));
		head = (head + 1) % ring.n;
		set_reg(s, b + Q_HEAD, head);
	}
	i82599_queue_event(s, q, false);
	return true;
}

void i82599_rx_frame(Ixgbe82599State *s, const uint8_t *buf, size_t size)
{
	if (size < ETH_ALEN || !rx_accept(s, buf)) {
		return;
	}
	rx_put(s, buf, size);
}

bool i82599_can_receive(NetClientState *nc)
{
	Ixgbe82599State *s = qemu_get_nic_opaque(nc);
	/* With RX off the frame is dropped (receive says it took it); with RX
	 * on, frames wait while queue 0 has no free descriptor, unless its
	 * SRRCTL.DROP_EN asks for drops. */
	if (!rx_enabled(s) || !(reg(s, rxq_base(0) + Q_DCTL) & XDCTL_ENABLE)) {
		return true;
	}
	return rx_free(s, 0) > 0 || (reg(s, rxq_base(0) + Q_SRRCTL) & SRRCTL_DROP_EN);
}

ssize_t i82599_receive(NetClientState *nc, const uint8_t *buf, size_t size)
{
	Ixgbe82599State *s = qemu_get_nic_opaque(nc);

	if (!rx_enabled(s)) {
		return size;
	}
	if (size < ETH_ALEN || !rx_accept(s, buf)) {
		return size;
	}
	return rx_put(s, buf, size) ? (ssize_t)size : 0;
}
