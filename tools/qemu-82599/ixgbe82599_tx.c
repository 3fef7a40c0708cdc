/*
 * Intel 82599 model (ixgbe82599.h): the TX engine (7.2). It fetches advanced
 * and legacy descriptors between TDH and TDT of every enabled queue, gathers
 * a frame's buffers into txbuf, inserts the checksums asked for, pads, and
 * sends the frame to the netdev or, under MAC loopback, into the RX path.
 * A guest's kick is served within a budget of descriptors; the rest goes on
 * in a bottom half that takes the queues in turn.
 *
 * This file is part of the Maple OS project; it is licensed under the GNU
 * GPL, version 2 or later, like the QEMU it is built into.
 */

/* QEMU's rule: osdep.h comes first, alone in its block. */
#include "qemu/osdep.h"

#include "ixgbe82599.h"
#include "net/checksum.h"
#include "net/eth.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "system/dma.h"

static void count_tx(Ixgbe82599State *s, const uint8_t *frame, uint32_t len)
{
	s->gptc++;
	s->tpt++;
	s->gotc += len + 4; /* octets from DA through FCS (8.2.3.23.25) */
	if (is_broadcast_ether_addr(frame)) {
		s->bptc++;
	} else if (is_multicast_ether_addr(frame)) {
		s->mptc++;
	}
}

/*
 * Whether the frame's IPv4 header, as the guest wrote it, lies inside the
 * frame: QEMU's net_checksum_calculate() trusts the header's IHL (it sums
 * IHL * 4 bytes) and its total length (a total below the header length
 * makes the TCP/UDP length negative, which it reads as almost 64 KiB), so
 * both are checked against the frame's own length before it runs, and a
 * checksum is inserted only into a frame whose headers fit. The headers
 * are found as that function finds them: after one or two VLAN tags.
 */
static bool ipv4_in_frame(const uint8_t *f, uint32_t len)
{
	uint32_t l2 = 14;
	if (len < 18) {
		return false;
	}
	uint16_t proto = lduw_be_p(f + 12);
	if (proto == ETH_P_VLAN) {
		l2 = 18;
	} else if (proto == ETH_P_DVLAN) {
		l2 = lduw_be_p(f + 16) == ETH_P_VLAN ? 22 : 18;
	}
	if (len < l2 + 20 || (f[l2] >> 4) != 4) {
		return false;
	}
	uint32_t ihl = (f[l2] & 0xf) * 4;
	uint32_t total = lduw_be_p(f + l2 + 2);
	return ihl >= 20 && total >= ihl && l2 + total <= len;
}

static void tx_send(Ixgbe82599State *s, uint32_t olinfo, uint32_t cmd)
{
	uint32_t len = s->txlen;

	if ((cmd & TXD_DEXT) && (cmd & TXD_TSE)) { /* legacy bit 31 is IDE */
		if (!s->logged_tso) {
			s->logged_tso = true;
			qemu_log_mask(LOG_UNIMP, "ixgbe82599: TCP segmentation (TSE) is not "
						 "modelled; the packet is sent unsegmented\n");
		}
	}
	if (cmd & TXD_VLE) {
		if (!s->logged_vle) {
			s->logged_vle = true;
			qemu_log_mask(LOG_UNIMP, "ixgbe82599: VLAN insertion (VLE) is not "
						 "modelled; the packet is sent untagged\n");
		}
	}
	if ((olinfo & (TXD_POPTS_IXSM | TXD_POPTS_TXSM)) && ipv4_in_frame(s->txbuf, len)) {
		int flags = 0;
		if (olinfo & TXD_POPTS_IXSM) {
			flags |= CSUM_IP;
		}
		if (olinfo & TXD_POPTS_TXSM) {
			flags |= CSUM_TCP | CSUM_UDP;
		}
		net_checksum_calculate(s->txbuf, len, flags);
	}
	if (len < MIN_FRAME && (reg(s, HLREG0) & HLREG0_TXPADEN)) {
		memset(s->txbuf + len, 0, MIN_FRAME - len);
		len = MIN_FRAME;
	}
	count_tx(s, s->txbuf, len);
	if (reg(s, HLREG0) & HLREG0_LPBK) {
		i82599_rx_frame(s, s->txbuf, len); /* MAC loopback (8.2.3.22.8) */
	} else if (i82599_link_up(s)) {
		qemu_send_packet(qemu_get_queue(s->nic), s->txbuf, len);
	}
}

/*
 * Fetch and send what lies between TDH and TDT of queue q, at most *budget
 * descriptors (counted down). The ring's registers come from the guest: an
 * empty ring, or a head or tail beyond it, stops the queue with a
 * guest-error log instead of reading outside the ring. Returns true when
 * the budget ran out with descriptors left.
 */
static bool tx_queue(Ixgbe82599State *s, unsigned q, unsigned *budget)
{
	PCIDevice *d = PCI_DEVICE(s);
	hwaddr b = txq_base(q);
	uint32_t dctl = reg(s, b + Q_DCTL);
	struct ring ring;
	bool usable = ring_read(s, b, &ring);
	uint32_t head = ring.head;
	bool wrote = false;

	if (!(reg(s, DMATXCTL) & DMATXCTL_TE) || !(dctl & XDCTL_ENABLE)) {
		return false;
	}
	if (!usable) {
		qemu_log_mask(LOG_GUEST_ERROR,
			      "ixgbe82599: TX queue %u: head %u or tail %u "
			      "outside a ring of %u descriptors; queue stopped\n",
			      q, ring.head, ring.tail, ring.n);
		return false;
	}
	/*
	 * A guest's kick costs a bounded amount of work while the vCPU (and
	 * QEMU's big lock) waits: at most TX_BUDGET descriptors, 64 KiB each at
	 * worst. A full ring of 64 KiB frames on each of 128 queues is hundreds
	 * of GiB of copying; what is left goes on in a bottom half, between
	 * which the main loop runs, as a real device works beside the CPU.
	 * The engine stops only between frames: the frame being assembled
	 * (txbuf) is shared by the queues, so another queue's kick must not
	 * find half of one. A frame is at most a ring long and copies at most
	 * MAX_FRAME bytes, so finishing it stays bounded.
	 */
	while (head != ring.tail) {
		if (*budget == 0 && s->txlen == 0 && !s->txdrop) {
			if (wrote) {
				i82599_queue_event(s, q, true);
			}
			return true;
		}
		if (*budget) {
			(*budget)--;
		}
		uint8_t desc[16];
		dma_addr_t at = ring.base + head * 16ull;
		if (pci_dma_read(d, at, desc, sizeof(desc)) != MEMTX_OK) {
			qemu_log_mask(LOG_GUEST_ERROR,
				      "ixgbe82599: TX queue %u: descriptor "
				      "read at 0x%" PRIx64 " failed\n",
				      q, (uint64_t)at);
			break;
		}
		uint64_t addr = ldq_le_p(desc);
		uint32_t cmd = ldl_le_p(desc + 8);
		uint32_t olinfo = ldl_le_p(desc + 12);
		bool ctxt = (cmd & TXD_DEXT) && TXD_DTYP(cmd) == TXD_DTYP_CTXT;

		/*
		 * A context descriptor (7.2.3.2.3) carries nothing the model uses:
		 * checksums are computed from the frame's own headers and TSO and
		 * VLAN insertion are not modelled. Only data descriptors add bytes.
		 */
		if (!ctxt) {
			uint32_t len = cmd & TXD_DTALEN; /* same field in legacy (7.2.3.2.2) */
			if (s->txlen + len > MAX_FRAME) {
				s->txdrop = true;
			} else if (len &&
				   pci_dma_read(d, addr, s->txbuf + s->txlen, len) != MEMTX_OK) {
				s->txdrop = true;
			} else {
				s->txlen += len;
			}
			if (cmd & TXD_EOP) {
				if (s->txdrop) {
					qemu_log_mask(
						LOG_GUEST_ERROR,
						"ixgbe82599: TX queue %u: packet "
						"over %u bytes or unreadable buffer; dropped\n",
						q, MAX_FRAME);
				} else {
					/* Legacy descriptors carry no POPTS; only advanced ones
					 * (DEXT) ask for checksums in olinfo. */
					tx_send(s, (cmd & TXD_DEXT) ? olinfo : 0, cmd);
				}
				s->txlen = 0;
				s->txdrop = false;
			}
		}
		if ((cmd & TXD_RS) || TXDCTL_WTHRESH(dctl)) {
			/* Write-back: STA.DD in the descriptor's last dword (7.2.3.2.4). */
			uint8_t wb[4];
			stl_le_p(wb, TXD_STA_DD);
			pci_dma_write(d, at + 12, wb, sizeof(wb));
			wrote = true;
		}
		head = (head + 1) % ring.n;
		set_reg(s, b + Q_HEAD, head);
	}
	if (wrote) {
		i82599_queue_event(s, q, true);
	}
	return false;
}

/*
 * Run TX queue q within one budget, or (q == NUM_QUEUES: the bottom half
 * and DMATXCTL) every queue in turn from s->tx_next. What the budget leaves
 * goes to the bottom half. Round robin keeps the queues fair: a pass that
 * leaves work begins the next one after the first queue still holding
 * some, if that queue had a share of this budget, so a guest keeping queue
 * 0 full cannot hold the other queues' frames back for ever.
 */
void i82599_tx_kick(Ixgbe82599State *s, unsigned q)
{
	unsigned budget = TX_BUDGET;
	bool left = false;

	if (q != NUM_QUEUES) {
		left = tx_queue(s, q, &budget);
	} else {
		unsigned start = s->tx_next;
		for (unsigned i = 0; i < NUM_QUEUES; i++) {
			unsigned qi = (start + i) % NUM_QUEUES;
			bool had_share = budget != 0;
			if (tx_queue(s, qi, &budget) && !left) {
				left = true;
				s->tx_next = had_share ? (qi + 1) % NUM_QUEUES : qi;
			}
		}
	}
	if (left) {
		qemu_bh_schedule(s->tx_bh);
	}
}

void i82599_tx_bh(void *opaque)
{
	i82599_tx_kick(opaque, NUM_QUEUES);
}
