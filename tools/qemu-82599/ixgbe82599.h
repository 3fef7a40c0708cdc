/*
 * Intel 82599 10 GbE controller (8086:10fb) for QEMU, Maple's model: what its
 * files share. The device's state, the register offsets and bits it models
 * (from the Intel 82599 10 GbE Controller Datasheet; section numbers beside
 * each) and the functions one file of the model calls in another:
 *
 *   ixgbe82599.c         the PCI device: realize, reset, the netdev's hooks
 *   ixgbe82599_regs.c    BAR0's register file: storage, aliases, statistics,
 *                        the read and write dispatch to the files below
 *   ixgbe82599_eeprom.c  the EEPROM and the software/firmware semaphores
 *   ixgbe82599_link.c    the link and the buses with nobody on them (I2C, MDIO)
 *   ixgbe82599_irq.c     interrupt causes and masks, MSI-X and INTx
 *   ixgbe82599_tx.c      the TX engine: descriptors, frames, its budget
 *   ixgbe82599_rx.c      the RX path: filtering and RX queue 0
 *
 * ci/qemu82599 copies every ixgbe82599* file into QEMU 10.0.2's hw/net/ and
 * qemu.patch lists the .c files in its meson.build; README.md beside them
 * says what is modelled and what is not.
 *
 * This file is part of the Maple OS project; it is licensed under the GNU
 * GPL, version 2 or later, like the QEMU it is built into.
 */
#ifndef HW_NET_IXGBE82599_H
#define HW_NET_IXGBE82599_H

#include "hw/pci/pci_device.h"
#include "net/net.h"
#include "qemu/bitmap.h"

#define TYPE_IXGBE82599 "ixgbe82599"
OBJECT_DECLARE_SIMPLE_TYPE(Ixgbe82599State, IXGBE82599)

#define IXGBE_DEVICE_ID 0x10fb	/* 82599ES SFI/SFP+ (datasheet 9.3.3.2) */
#define MMIO_SIZE	0x20000 /* BAR0: 128 KiB of CSRs (9.3.6.1) */
#define MSIX_BAR_SIZE	0x4000
#define MSIX_BAR	3    /* 64-bit BAR0 uses BAR 0-1; the MSI-X BAR is BAR3 (9.3.6.3) */
#define MSIX_VECTORS	64   /* MSI-X table size 64 (9.3.8.2) */
#define NUM_QUEUES	128  /* RX and TX queues (1.3) */
#define EEPROM_WORDS	1024 /* EEC.EE_SIZE 4: 1 << (4 + 6) words */

/* --- register offsets (datasheet 8.2.3, "Device Registers") -------------- */
#define CTRL		 0x00000 /* 8.2.3.1.1 */
#define STATUS		 0x00008 /* 8.2.3.1.2 */
#define CTRL_EXT	 0x00018 /* 8.2.3.1.3 */
#define ESDP		 0x00020 /* 8.2.3.1.4 */
#define I2CCTL		 0x00028 /* 8.2.3.1.5 */
#define EEC		 0x10010 /* 8.2.3.2.1 */
#define EERD		 0x10014 /* 8.2.3.2.2 */
#define EEWR		 0x10018 /* 8.2.3.2.4 */
#define SWSM		 0x10140 /* software semaphore (SMBI, SWESMBI) */
#define FWSM		 0x10148 /* Firmware Semaphore */
#define SW_FW_SYNC	 0x10160 /* GSSR: software/firmware synchronization */
#define EICR		 0x00800 /* 8.2.3.5.1 */
#define EICS		 0x00808 /* 8.2.3.5.3 */
#define EIAC		 0x00810 /* 8.2.3.5.5 */
#define EITR0		 0x00820 /* 8.2.3.5.12, vectors 0-23 */
#define EIMS		 0x00880 /* 8.2.3.5.7 */
#define EIMC		 0x00888 /* 8.2.3.5.9 */
#define EIAM		 0x00890 /* 8.2.3.5.11 */
#define GPIE		 0x00898 /* 8.2.3.5.16 */
#define IVAR0		 0x00900 /* 8.2.3.5.14, 64 entries */
#define IVAR_MISC	 0x00a00 /* 8.2.3.5.15 */
#define EICS_EX0	 0x00a90 /* 8.2.3.5.4, 2 registers */
#define EIMS_EX0	 0x00aa0 /* 8.2.3.5.8 */
#define EIMC_EX0	 0x00ab0 /* 8.2.3.5.10 */
#define EIAM_EX0	 0x00ad0 /* 8.2.3.5.11 */
#define RXQ_LO		 0x01000 /* 8.2.3.8: RX queues 0-63, 0x40 apart */
#define RXQ_HI		 0x0d000 /* RX queues 64-127 */
#define TXQ		 0x06000 /* 8.2.3.9: TX queues 0-127, 0x40 apart */
#define Q_BAL		 0x00
#define Q_BAH		 0x04
#define Q_LEN		 0x08
#define Q_DCA		 0x0c
#define Q_HEAD		 0x10
#define Q_SRRCTL	 0x14 /* RX only */
#define Q_TAIL		 0x18
#define Q_DCTL		 0x28	 /* RXDCTL / TXDCTL */
#define SRRCTL_ALIAS	 0x02100 /* SRRCTL of RX queues 0-15 (8.2.3.8.7) */
#define DCA_RXCTRL_ALIAS 0x02200
#define RDRXCTL		 0x02f00 /* 8.2.3.8.8 */
#define RXPBSIZE0	 0x03c00 /* 8.2.3.8.9 */
#define TXPBSIZE0	 0x0cc00 /* 8.2.3.9.13 */
#define RXCTRL		 0x03000 /* 8.2.3.8.10 */
#define HLREG0		 0x04240 /* 8.2.3.22.8 */
#define AUTOC		 0x042a0 /* 8.2.3.22.19 */
#define LINKS		 0x042a4 /* 8.2.3.22.20 */
#define AUTOC2		 0x042a8 /* 8.2.3.22.21 */
#define MSCA		 0x0425c /* 8.2.3.22.11 */
#define MSRWD		 0x04260 /* 8.2.3.22.12 */
#define ANLP1		 0x042b0 /* 8.2.3.22.22 */
#define DMATXCTL	 0x04a80 /* 8.2.3.9.2 */
#define FCTRL		 0x05080 /* 8.2.3.7.1 */
#define MCSTCTRL	 0x05090 /* 8.2.3.7.4 */
#define MTA0		 0x05200 /* 8.2.3.7.7, 128 entries */
#define RAL0		 0x0a200 /* 8.2.3.7.8, 128 pairs 8 apart */
#define RAH0		 0x0a204
#define RAR_ALIAS	 0x05400 /* RAL/RAH 0-15 at their 82598 place (8.2.3.7.8) */
#define SECTXSTAT	 0x08804 /* 8.2.3.12.2 */
#define SECRXSTAT	 0x08d04 /* 8.2.3.12.6 */
#define FDIRCTRL	 0x0ee00 /* 8.2.3.21.1 */
#define FDIRCMD		 0x0ee2c /* 8.2.3.21.12 */

/* Statistics (8.2.3.23), clear on read. */
#define MPC0  0x03fa0 /* 8 registers, one per packet buffer */
#define GPRC  0x04074
#define BPRC  0x04078
#define MPRC  0x0407c
#define GPTC  0x04080
#define GORCL 0x04088
#define GORCH 0x0408c
#define GOTCL 0x04090
#define GOTCH 0x04094
#define TORL  0x040c0
#define TORH  0x040c4
#define TPR   0x040d0
#define TPT   0x040d4
#define MPTC  0x040f0
#define BPTC  0x040f4

/* Bits. */
#define CTRL_GIO_DIS	     (1u << 2)	/* PCIe master disable (8.2.3.1.1) */
#define CTRL_LRST	     (1u << 3)	/* link reset */
#define CTRL_RST	     (1u << 26) /* device reset; self-clearing */
#define STATUS_LINKUP	     (1u << 7)	/* 8.2.3.1.2 */
#define STATUS_GIO	     (1u << 19) /* PCIe master enable status */
#define EEC_REQ		     (1u << 6)	/* 8.2.3.2.1 */
#define EEC_GNT		     (1u << 7)
#define EEC_PRES	     (1u << 8)
#define EEC_ARD		     (1u << 9) /* auto-read done */
#define EEC_SIZE_SHIFT	     11
#define EERD_START	     (1u << 0) /* 8.2.3.2.2 */
#define EERD_DONE	     (1u << 1)
#define EERD_ADDR_SHIFT	     2
#define EERD_DATA_SHIFT	     16
#define SWSM_SMBI	     (1u << 0)
#define I2C_SCL_OUT	     (1u << 0) /* 8.2.3.1.5 */
#define I2C_SCL_IN	     (1u << 1)
#define I2C_DATA_OUT	     (1u << 2)
#define I2C_DATA_IN	     (1u << 3)
#define EICR_LSC	     (1u << 20) /* 8.2.3.5.1 */
#define EICR_OTHER_CAUSES    0xffff0000u
#define EICR_QUEUES	     0x0000ffffu
#define GPIE_MSIX_MODE	     (1u << 4) /* 8.2.3.5.16 */
#define GPIE_EIAME	     (1u << 30)
#define IVAR_VALID	     0x80 /* 8.2.3.5.14 */
#define IVAR_VECTOR	     0x3f
#define XDCTL_ENABLE	     (1u << 25) /* RXDCTL 8.2.3.8.6, TXDCTL 8.2.3.9.10 */
#define XDCTL_SWFLSH	     (1u << 26)
#define TXDCTL_WTHRESH(v)    (((v) >> 16) & 0x7f)
#define SRRCTL_BSIZEPKT	     0x1f /* 1 KiB units (8.2.3.8.7) */
#define SRRCTL_DESCTYPE(v)   (((v) >> 25) & 7)
#define SRRCTL_DROP_EN	     (1u << 28)
#define RDRXCTL_DMAIDONE     (1u << 3)
#define RXCTRL_RXEN	     (1u << 0)
#define HLREG0_TXCRCEN	     (1u << 0) /* 8.2.3.22.8 */
#define HLREG0_RXCRCSTRP     (1u << 1)
#define HLREG0_TXPADEN	     (1u << 10)
#define HLREG0_LPBK	     (1u << 15)
#define DMATXCTL_TE	     (1u << 0)
#define FCTRL_MPE	     (1u << 8) /* 8.2.3.7.1 */
#define FCTRL_UPE	     (1u << 9)
#define FCTRL_BAM	     (1u << 10)
#define MCSTCTRL_MFE	     (1u << 2)
#define RAH_AV		     (1u << 31)
#define AUTOC_LMS_10G_SERIAL (3u << 13) /* 8.2.3.22.19 */
#define AUTOC2_10G_SFI	     (2u << 16) /* 8.2.3.22.21 */
#define ANLP1_AN_STATE	     (0xfu << 16)
/* LINKS (8.2.3.22.20): KX/KX4/KR AN complete, link up, speed 10 Gb/s, link status. */
#define LINKS_UP_10G	   ((1u << 31) | (1u << 30) | (3u << 28) | (1u << 7))
#define MSCA_MDI_COMMAND   (1u << 30) /* 8.2.3.22.11 */
#define FWSM_FW_VAL	   (1u << 15) /* 8.2.3.4.10 */
#define FDIRCTRL_INIT_DONE (1u << 3)
#define FDIRCMD_CMD	   3u

/* Advanced TX descriptor (7.2.3.2.4) and its write-back. */
#define TXD_DTALEN     0xffff
#define TXD_DTYP(c)    (((c) >> 20) & 0xf)
#define TXD_DTYP_CTXT  0x2
#define TXD_EOP	       (1u << 24)
#define TXD_RS	       (1u << 27)
#define TXD_DEXT       (1u << 29)
#define TXD_VLE	       (1u << 30)
#define TXD_TSE	       (1u << 31)
#define TXD_POPTS_IXSM (1u << 8)
#define TXD_POPTS_TXSM (1u << 9)
#define TXD_STA_DD     1u
/* RX write-back (7.1.6.2 advanced, 7.1.5 legacy): DD and EOP. */
#define RXD_STAT_DD  1u
#define RXD_STAT_EOP 2u

#define MAX_FRAME 0x10000 /* TX assembles at most this many bytes per packet */
/* RDLEN/TDLEN: the length is bits 19:7, bits 6:0 are 0 and 31:20 reserved
 * (8.2.3.8.3, 8.2.3.9.7), so a ring has at most 65528 descriptors. */
#define Q_LEN_MASK 0x000fff80u
/* Descriptors the TX engine handles in one go before it yields to the main
 * loop (the rest in a bottom half): the most a guest's kick costs at once. */
#define TX_BUDGET 1024
#define MIN_FRAME 60 /* without FCS */

/* The device. Registers with no state beyond their value live in regs[];
 * the rest of the state is kept where its behaviour needs it. */
struct Ixgbe82599State {
	PCIDevice parent_obj;
	NICState *nic;
	NICConf conf;
	MemoryRegion mmio;
	MemoryRegion msix;

	uint32_t regs[MMIO_SIZE / 4];
	uint16_t eeprom[EEPROM_WORDS];
	/* Queue interrupt causes and masks, one bit per MSI-X vector (or per
	 * EICR queue bit when not in MSI-X mode); EICR bits 15:0 show 15:0. */
	uint64_t qcause, qmask, qautomask;
	uint32_t eicr_other, eims_other; /* EICR/EIMS bits 31:16 */
	/* Statistics: 64-bit counters; GORCH/GOTCH/TORH read the high half
	 * latched by the read of the low half. */
	uint64_t gorc, gotc, tor;
	uint32_t gorch_latch, gotch_latch, torh_latch;
	uint32_t gprc, gptc, bprc, mprc, bptc, mptc, tpr, tpt, mpc;
	uint8_t *txbuf;
	uint8_t *rxbuf; /* a received frame, padded and with its FCS if kept */
	uint32_t txlen;
	bool txdrop;
	QEMUBH *tx_bh;	  /* the TX work a kick's budget left over */
	unsigned tx_next; /* the queue the bottom half's next pass begins at */
	DECLARE_BITMAP(logged_read, MMIO_SIZE / 4);
	DECLARE_BITMAP(logged_write, MMIO_SIZE / 4);
	bool logged_tso, logged_vle;
};

static inline uint32_t reg(Ixgbe82599State *s, hwaddr off)
{
	return s->regs[off >> 2];
}

static inline void set_reg(Ixgbe82599State *s, hwaddr off, uint32_t v)
{
	s->regs[off >> 2] = v;
}

static inline hwaddr rxq_base(unsigned q)
{
	return q < 64 ? RXQ_LO + q * 0x40 : RXQ_HI + (q - 64) * 0x40;
}

static inline hwaddr txq_base(unsigned q)
{
	return TXQ + q * 0x40;
}

/* A queue's descriptor ring as the guest programmed it (RDBAL, RDBAH, RDLEN,
 * RDH, RDT: 8.2.3.8.1-5; TDBAL ... TDT: 8.2.3.9.5-9). */
struct ring {
	uint64_t base; /* bits 6:0 of BAL are 0: 128-byte aligned */
	uint32_t n;    /* descriptors of 16 bytes */
	uint32_t head, tail;
};

/*
 * Queue block b's ring. Its registers are the guest's, so the model uses a
 * ring only when this says true: at least one descriptor, and head and tail
 * inside it. Every descriptor the model then reads or writes is base + i *
 * 16 for an i below n (head moves modulo n), never outside the ring.
 */
static inline bool ring_read(Ixgbe82599State *s, hwaddr b, struct ring *r)
{
	r->base = ((uint64_t)reg(s, b + Q_BAH) << 32) | (reg(s, b + Q_BAL) & ~0x7fu);
	r->n = reg(s, b + Q_LEN) / 16;
	r->head = reg(s, b + Q_HEAD);
	r->tail = reg(s, b + Q_TAIL);
	return r->n != 0 && r->head < r->n && r->tail < r->n;
}

/*
 * A register read or write the file owning the register handles: true when
 * off is one of its registers (*v then holds what a read returns), false to
 * let the dispatch in ixgbe82599_regs.c go on. off is canonical (aliases
 * resolved), dword-aligned and inside BAR0.
 */
bool i82599_eeprom_read(Ixgbe82599State *s, hwaddr off, uint32_t *v);
bool i82599_eeprom_write(Ixgbe82599State *s, hwaddr off, uint32_t val);
bool i82599_link_read(Ixgbe82599State *s, hwaddr off, uint32_t *v);
bool i82599_link_write(Ixgbe82599State *s, hwaddr off, uint32_t val);
bool i82599_irq_read(Ixgbe82599State *s, hwaddr off, uint32_t *v);
bool i82599_irq_write(Ixgbe82599State *s, hwaddr off, uint32_t val);

/* ixgbe82599_regs.c: BAR0's accesses. */
extern const MemoryRegionOps i82599_mmio_ops;

/* ixgbe82599.c: every register and counter to its value after reset (4.2). */
void i82599_reset_regs(Ixgbe82599State *s);

/* ixgbe82599_eeprom.c: the EEPROM's image, built once at realize. */
void i82599_eeprom_init(Ixgbe82599State *s);

/* ixgbe82599_link.c: whether the netdev's link is up. */
bool i82599_link_up(Ixgbe82599State *s);

/* ixgbe82599_irq.c: deliver what is pending; raise a queue's or another cause. */
void i82599_update_irq(Ixgbe82599State *s);
void i82599_queue_event(Ixgbe82599State *s, unsigned q, bool tx);
void i82599_other_event(Ixgbe82599State *s, uint32_t cause);

/* ixgbe82599_tx.c: run TX queue q, or every queue when q is NUM_QUEUES. */
void i82599_tx_kick(Ixgbe82599State *s, unsigned q);
void i82599_tx_bh(void *opaque);

/* ixgbe82599_rx.c: a frame from the wire or the MAC loopback; the netdev's hooks. */
void i82599_rx_frame(Ixgbe82599State *s, const uint8_t *buf, size_t size);
bool i82599_can_receive(NetClientState *nc);
ssize_t i82599_receive(NetClientState *nc, const uint8_t *buf, size_t size);

#endif
