/*
 * Intel 82599 model (ixgbe82599.h): BAR0's register file (8.2.3). 128 KiB of
 * registers kept in one array (regs[]) indexed by dword; most are plain
 * storage, listed below so that they are known. A register with behaviour is
 * handled by the file that owns it (EEPROM, link, interrupts: their _read
 * and _write hooks) or here (device control, the queue blocks, statistics).
 * A register the model does not know is still stored, but its first read
 * and first write are logged (LOG_UNIMP, `-d unimp`), once per offset, so a
 * driver's mistakes show.
 *
 * This file is part of the Maple OS project; it is licensed under the GNU
 * GPL, version 2 or later, like the QEMU it is built into.
 */

/* QEMU's rule: osdep.h comes first, alone in its block. */
#include "qemu/osdep.h"

#include "ixgbe82599.h"
#include "qemu/log.h"

/*
 * Aliases (8.2.3.7.8, 8.2.3.8): RAL/RAH 0-15 also sit at 0x5400 (the
 * 82598's place, which Linux's ixgbe uses), and SRRCTL and DCA_RXCTRL of RX
 * queues 0-15 at 0x2100 and 0x2200. Each alias names the same register as
 * the 82599 place: store it there.
 */
static hwaddr canonical(hwaddr off)
{
	if (off >= RAR_ALIAS && off < RAR_ALIAS + 16 * 8) {
		return RAL0 + (off - RAR_ALIAS);
	}
	if (off >= SRRCTL_ALIAS && off < SRRCTL_ALIAS + 16 * 4) {
		return rxq_base((off - SRRCTL_ALIAS) / 4) + Q_SRRCTL;
	}
	if (off >= DCA_RXCTRL_ALIAS && off < DCA_RXCTRL_ALIAS + 16 * 4) {
		return rxq_base((off - DCA_RXCTRL_ALIAS) / 4) + Q_DCA;
	}
	return off;
}

/*
 * Registers kept as plain storage with no behaviour of their own: the model
 * knows them (no unimp log), and their value matters only to the driver
 * reading it back. Each range is [start, end), from 8.2.3.
 */
static const struct {
	hwaddr start, end;
} plain_ranges[] = {
	{CTRL_EXT, CTRL_EXT + 4},
	{ESDP, ESDP + 4},
	{0x00200, 0x00204}, /* LEDCTL */
	{0x00048, 0x00050}, /* FRTIMER, TCPTIMER */
	{EITR0, EITR0 + 24 * 4},
	{0x12300, 0x12300 + 104 * 4}, /* EITR */
	{EIAC, EIAC + 4},
	{GPIE, GPIE + 4},
	{IVAR0, IVAR0 + 64 * 4},
	{IVAR_MISC, IVAR_MISC + 4},
	{0x02f04, 0x02f08},	     /* PFQDE */
	{0x02300, 0x02300 + 32 * 4}, /* RQSMR */
	{0x02140, 0x02180},	     /* RTRPT4C, RTRPT4S */
	{0x02430, 0x02434},	     /* RTRPCS */
	{0x03020, 0x03024},	     /* RTRUP2TC */
	{0x03190, 0x03194},	     /* RXDSTATCTRL */
	{0x03200, 0x03210},	     /* FCTTV */
	{0x03220, 0x03240},	     /* FCRTL */
	{0x03260, 0x03280},	     /* FCRTH */
	{0x032a0, 0x032a4},	     /* FCRTV */
	{0x03c00, 0x03c20},	     /* RXPBSIZE */
	{0x03d00, 0x03d04},	     /* FCCFG */
	{0x04294, 0x04298},	     /* MFLCN */
	{0x04268, 0x0426c},	     /* MAXFRS */
	{0x04324, 0x04328},	     /* LINKS2 */
	{0x04330, 0x04334},	     /* MACC */
	{0x04900, 0x04920},	     /* RTTDCS, RTTDQSEL, RTTDT1C, RTTDT2C */
	{0x04950, 0x04970},	     /* TXPBTHRESH */
	{0x04980, 0x04990},	     /* RTTBCNRM, RTTBCNRC */
	{0x04a90, 0x04a94},	     /* DTXTCPFLGL */
	{0x04a94, 0x04a98},	     /* DTXTCPFLGH */
	{0x05000, 0x05004},	     /* RXCSUM */
	{0x05008, 0x0500c},	     /* RFCTL */
	{0x05088, 0x0508c},	     /* VLNCTRL */
	{0x05090, 0x05094},	     /* MCSTCTRL */
	{0x05128, 0x05148},	     /* ETQF */
	{0x05480, 0x054c0},	     /* PSRTYPE 0-15 at the 82598's place */
	{0x05800, 0x05814},	     /* WUC, WUFC, WUS */
	{0x05818, 0x0581c},	     /* MRQC (82598 place) */
	{0x05c00, 0x05ca8},	     /* RETA and RSSRK at the 82598's place */
	{0x05820, 0x05824},	     /* MANC */
	{0x051b0, 0x051b4},	     /* PFVTCTL */
	{0x051e0, 0x051e8},	     /* VFRE */
	{0x06000, 0x08000},	     /* TX queue blocks (behaviour below) */
	{0x08100, 0x08104},	     /* DTXMXSZRQ */
	{0x08110, 0x08118},	     /* VFTE */
	{0x08120, 0x08124},	     /* MTQC */
	{0x08220, 0x08224},	     /* PFDTXGSWC */
	{0x08600, 0x08640},	     /* TQSM */
	{0x08800, 0x08804},	     /* SECTXCTRL */
	{0x08808, 0x0880c},	     /* SECTXBUFFAF */
	{0x08810, 0x08814},	     /* SECTXMINIFG */
	{0x08900, 0x08918},	     /* IPsec TX SA table access (storage only) */
	{0x08d00, 0x08d04},	     /* SECRXCTRL */
	{0x08e00, 0x08e34},	     /* IPsec RX SA table access (storage only) */
	{0x0a000, 0x0a200},	     /* VFTA */
	{0x0a200, 0x0a600},	     /* RAL/RAH */
	{0x0a600, 0x0aa00},	     /* MPSAR */
	{0x0c800, 0x0c804},	     /* RTTUP2TC */
	{0x0cc00, 0x0cc20},	     /* TXPBSIZE */
	{0x0cd00, 0x0cd04},	     /* RTTPCS */
	{0x0cd20, 0x0cd40},	     /* RTTPT2C */
	{0x0e000, 0x0e800},	     /* SAQF, DAQF, SDPQF, FTQF, L34T_IMIR */
	{0x0ea00, 0x0eb00},	     /* PSRTYPE */
	{0x0eb00, 0x0eb80},	     /* RETA */
	{0x0eb80, 0x0ebb0},	     /* RSSRK */
	{0x0ec00, 0x0ec40},	     /* ETQS */
	{0x0ec70, 0x0ec74},	     /* SYNQF */
	{0x0ec80, 0x0ec84},	     /* MRQC */
	{0x0ee00, 0x0ee80},	     /* Flow Director */
	{0x0f000, 0x0f100},	     /* PFVML2FLT (VMOLR) */
	{0x0f100, 0x0f200},	     /* PFVLVF */
	{0x0f200, 0x0f400},	     /* PFVLVFB */
	{0x1001c, 0x10020},	     /* FLA */
	{0x10110, 0x10120},	     /* EEMNGCTL, EEMNGDATA, FLMNGCTL, FLMNGDATA */
	{0x10150, 0x10154},	     /* FACTPS */
	{0x10200, 0x10204},	     /* GRC */
	{0x11000, 0x11004},	     /* GCR */
	{0x11050, 0x11054},	     /* GCR_EXT */
	{0x110b0, 0x110c0},	     /* PCIE ... */
};

/* Statistics the model does not count read as 0 and clear on read, like the
 * rest: a range list so they are not logged as unknown (8.2.3.23). */
static const struct {
	hwaddr start, end;
} zero_stat_ranges[] = {
	{0x03f00, 0x03fa0},			/* PXONTXC, PXOFFTXC, LXONTXC, LXOFFTXC */
	{0x03fc0, 0x03fe0},			/* RNBC */
	{0x03240, 0x03260},			/* PXON2OFFCNT */
	{0x04000, 0x04074},			/* CRCERRS ... PRC1522 */
	{0x04098, 0x040c0},			/* RUC..MNGPTC */
	{0x040c8, 0x040d0}, {0x040d8, 0x040f0}, /* PTC64..PTC1522 */
	{0x04100, 0x04200},			/* XEC, FCCRC, LXONRXCNT, PXONRXCNT ... */
	{0x05118, 0x0511c},			/* FCCRC */
	{0x08680, 0x08780},			/* QPTC, QBTC */
	{0x087a0, 0x087a4},			/* SSVPC */
	{0x08a00, 0x08a80},			/* LINKSEC stats */
	{0x08f00, 0x08f80},			/* IPsec stats */
	{0x02f50, 0x02f60},			/* FCOE stats */
	{0x0241c, 0x02424},			/* FCOE */
};

static bool in_ranges(hwaddr off, const void *table, size_t n)
{
	const struct {
		hwaddr start, end;
	} *t = table;
	for (size_t i = 0; i < n; i++) {
		if (off >= t[i].start && off < t[i].end) {
			return true;
		}
	}
	return false;
}

static bool is_zero_stat(hwaddr off)
{
	if (off >= RXQ_LO && off < RXQ_LO + 64 * 0x40) {
		unsigned r = off & 0x3f; /* QPRC, QBRC_L/H, QPRDC: 0x30, 0x34, 0x38 in the block;
					    0x1430 QPRDC */
		return r == 0x30 || r == 0x34 || r == 0x38;
	}
	if (off >= 0x01430 && off < 0x01430 + 16 * 0x40 && (off & 0x3f) == 0x30) {
		return true; /* QPRDC */
	}
	return in_ranges(off, zero_stat_ranges, ARRAY_SIZE(zero_stat_ranges));
}

static bool is_plain(hwaddr off)
{
	if ((off >= RXQ_LO && off < RXQ_LO + 64 * 0x40) ||
	    (off >= RXQ_HI && off < RXQ_HI + 64 * 0x40)) {
		unsigned r = off & 0x3f;
		return r <= Q_TAIL || r == Q_DCTL;
	}
	if (off >= MTA0 && off < MTA0 + 128 * 4) {
		return true;
	}
	return in_ranges(off, plain_ranges, ARRAY_SIZE(plain_ranges));
}

static void log_unknown(Ixgbe82599State *s, hwaddr off, bool write, uint32_t val)
{
	unsigned long *seen = write ? s->logged_write : s->logged_read;
	if (test_and_set_bit(off >> 2, seen)) {
		return;
	}
	if (write) {
		qemu_log_mask(LOG_UNIMP,
			      "ixgbe82599: write of unmodelled register 0x%05" HWADDR_PRIx
			      " = 0x%08x (stored; logged once)\n",
			      off, val);
	} else {
		qemu_log_mask(LOG_UNIMP,
			      "ixgbe82599: read of unmodelled register 0x%05" HWADDR_PRIx
			      " (returns the stored value; logged once)\n",
			      off);
	}
}

/* --- statistics (8.2.3.23) ----------------------------------------------- */

static uint32_t read_clear(uint32_t *counter)
{
	uint32_t v = *counter;
	*counter = 0;
	return v;
}

/* Low half of a 64-bit octet counter: returns the low 32 bits, latches the
 * high ones for the next read of the high register, and clears the counter
 * (8.2.3.23.22: the driver reads low, then high). */
static uint32_t read_low(uint64_t *counter, uint32_t *latch)
{
	uint64_t v = *counter;
	*counter = 0;
	*latch = v >> 32;
	return (uint32_t)v;
}

/* The counted statistics: true when off is one, *v its value (cleared). */
static bool stats_read(Ixgbe82599State *s, hwaddr off, uint32_t *v)
{
	switch (off) {
	case GPRC:
		*v = read_clear(&s->gprc);
		return true;
	case GPTC:
		*v = read_clear(&s->gptc);
		return true;
	case BPRC:
		*v = read_clear(&s->bprc);
		return true;
	case MPRC:
		*v = read_clear(&s->mprc);
		return true;
	case BPTC:
		*v = read_clear(&s->bptc);
		return true;
	case MPTC:
		*v = read_clear(&s->mptc);
		return true;
	case TPR:
		*v = read_clear(&s->tpr);
		return true;
	case TPT:
		*v = read_clear(&s->tpt);
		return true;
	case MPC0:
		*v = read_clear(&s->mpc);
		return true;
	case GORCL:
		*v = read_low(&s->gorc, &s->gorch_latch);
		return true;
	case GORCH:
		*v = read_clear(&s->gorch_latch);
		return true;
	case GOTCL:
		*v = read_low(&s->gotc, &s->gotch_latch);
		return true;
	case GOTCH:
		*v = read_clear(&s->gotch_latch);
		return true;
	case TORL:
		*v = read_low(&s->tor, &s->torh_latch);
		return true;
	case TORH:
		*v = read_clear(&s->torh_latch);
		return true;
	default:
		if ((off > MPC0 && off < MPC0 + 32) || is_zero_stat(off)) {
			*v = 0; /* not counted: read as 0, like a cleared counter */
			return true;
		}
		return false;
	}
}

/* --- the dispatch ---------------------------------------------------------- */

static uint64_t ixgbe_read(void *opaque, hwaddr addr, unsigned size)
{
	Ixgbe82599State *s = opaque;
	hwaddr off = canonical(addr & ~3ull);
	uint32_t v;

	if (i82599_eeprom_read(s, off, &v) || i82599_link_read(s, off, &v) ||
	    i82599_irq_read(s, off, &v) || stats_read(s, off, &v)) {
		return v;
	}
	switch (off) {
	case CTRL:
	case HLREG0:
	case RDRXCTL:
	case RXCTRL:
	case DMATXCTL:
	case FCTRL:
		break;
	case SECTXSTAT:
	case SECRXSTAT:
		return 1; /* the security blocks are always ready (8.2.3.12) */
	case FDIRCTRL:
		return reg(s, FDIRCTRL) | FDIRCTRL_INIT_DONE;
	case FDIRCMD:
		return reg(s, FDIRCMD) & ~FDIRCMD_CMD; /* commands complete at once */
	default:
		if (!is_plain(off)) {
			log_unknown(s, off, false, 0);
		}
		break;
	}
	return reg(s, off);
}

/* A write to a register of RX or TX queue q's block (8.2.3.8, 8.2.3.9). */
static void queue_write(Ixgbe82599State *s, hwaddr off, uint32_t val, bool txq)
{
	unsigned r = off & 0x3f;
	if (r == Q_LEN) {
		/*
		 * The ring length a guest writes is bounded here, before it
		 * sizes any access: only bits 19:7 exist (8.2.3.8.3, 8.2.3.9.7),
		 * so a ring is at most 65528 descriptors and a whole number
		 * of them, whatever the guest wrote.
		 */
		set_reg(s, off, val & Q_LEN_MASK);
	} else if (r == Q_DCTL) {
		/* ENABLE reads back as written once the queue is (de)activated,
		 * which here is at once; SWFLSH self-clears (8.2.3.8.6, 8.2.3.9.10). */
		set_reg(s, off, val & ~XDCTL_SWFLSH);
	} else if (r == Q_HEAD && val >= reg(s, (off & ~0x3full) + Q_LEN) / 16 && val != 0) {
		qemu_log_mask(LOG_GUEST_ERROR,
			      "ixgbe82599: head 0x%x beyond the ring "
			      "at 0x%05" HWADDR_PRIx "\n",
			      val, off);
		set_reg(s, off, val);
	} else {
		set_reg(s, off, val);
	}
	if (txq && (r == Q_TAIL || r == Q_DCTL)) {
		i82599_tx_kick(s, (off - TXQ) / 0x40);
	}
	if (!txq && (r == Q_TAIL || r == Q_DCTL) && (off & ~0x3full) == rxq_base(0)) {
		/* New descriptors: frames QEMU held back may fit now. */
		qemu_flush_queued_packets(qemu_get_queue(s->nic));
	}
}

static void ixgbe_write(void *opaque, hwaddr addr, uint64_t val64, unsigned size)
{
	Ixgbe82599State *s = opaque;
	hwaddr off = canonical(addr & ~3ull);
	uint32_t val = val64;

	bool rxq = (off >= RXQ_LO && off < RXQ_LO + 64 * 0x40) ||
		   (off >= RXQ_HI && off < RXQ_HI + 64 * 0x40);
	bool txq = off >= TXQ && off < TXQ + NUM_QUEUES * 0x40;
	if (rxq || txq) {
		queue_write(s, off, val, txq);
		return;
	}
	if (i82599_eeprom_write(s, off, val) || i82599_link_write(s, off, val) ||
	    i82599_irq_write(s, off, val)) {
		return;
	}
	switch (off) {
	case CTRL:
		if (val & (CTRL_RST | CTRL_LRST)) {
			/* Software reset (4.2.1.6.1): registers to their defaults, done
			 * by the time the driver polls, so RST reads back 0. */
			i82599_reset_regs(s);
			i82599_update_irq(s);
			return;
		}
		set_reg(s, CTRL, val);
		return;
	case HLREG0:
	case FCTRL:
		set_reg(s, off, val);
		return;
	case RDRXCTL:
		set_reg(s, off, val | RDRXCTL_DMAIDONE); /* DMAIDONE is read-only 1 */
		return;
	case RXCTRL:
		set_reg(s, off, val);
		if (val & RXCTRL_RXEN) {
			qemu_flush_queued_packets(qemu_get_queue(s->nic));
		}
		return;
	case DMATXCTL:
		set_reg(s, off, val);
		i82599_tx_kick(s, NUM_QUEUES);
		return;
	default:
		if (!is_plain(off) && !is_zero_stat(off) && !(off >= MPC0 && off < MPC0 + 32) &&
		    !(off >= GPRC && off <= BPTC)) {
			log_unknown(s, off, true, val);
		}
		set_reg(s, off, val);
		return;
	}
}

const MemoryRegionOps i82599_mmio_ops = {
	.read = ixgbe_read,
	.write = ixgbe_write,
	.endianness = DEVICE_LITTLE_ENDIAN,
	.impl = {.min_access_size = 4, .max_access_size = 4},
	.valid = {.min_access_size = 4, .max_access_size = 4},
};
