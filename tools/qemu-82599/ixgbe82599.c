/*
 * Intel 82599 10 GbE controller (8086:10fb) for QEMU: Maple's model, written
 * from the Intel 82599 10 GbE Controller Datasheet (section numbers below
 * name it). ci/qemu82599 copies this file into QEMU 10.0.2's hw/net/ and
 * hooks it into the build with qemu.patch beside it; README.md beside it says
 * what is modelled and what is not.
 *
 * Shape: BAR0 is 128 KiB of registers kept in one array (regs[]) indexed by
 * dword; most registers are plain storage, the ones with behaviour are
 * handled in ixgbe_read()/ixgbe_write(). A register the model does not know
 * is still stored, but its first read and first write are logged (LOG_UNIMP,
 * `-d unimp`), once per offset, so a driver's mistakes show. BAR3 holds the
 * MSI-X table and PBA (64 vectors). Descriptors and buffers move through
 * pci_dma_read()/pci_dma_write(), so an emulated IOMMU applies to them.
 *
 * This file is part of the Maple OS project; it is licensed under the GNU
 * GPL, version 2 or later, like the QEMU it is built into.
 */

/* QEMU's rule: osdep.h comes first, alone in its block. */
#include "qemu/osdep.h"

#include "hw/pci/msix.h"
#include "hw/pci/pci_device.h"
#include "hw/pci/pcie.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "net/checksum.h"
#include "net/eth.h"
#include "net/net.h"
#include "qapi/error.h"
#include "qemu/bitmap.h"
#include "qemu/log.h"
#include "qemu/module.h"
#include <zlib.h>

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
	QEMUBH *tx_bh; /* the TX work a kick's budget left over */
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

static hwaddr rxq_base(unsigned q)
{
	return q < 64 ? RXQ_LO + q * 0x40 : RXQ_HI + (q - 64) * 0x40;
}

static hwaddr txq_base(unsigned q)
{
	return TXQ + q * 0x40;
}

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

/* --- interrupts (7.3) ----------------------------------------------------- */

static bool msix_mode(Ixgbe82599State *s)
{
	return msix_enabled(PCI_DEVICE(s)) && (reg(s, GPIE) & GPIE_MSIX_MODE);
}

/* The MSI-X vector of the "other" causes: IVAR_MISC bits 15:8 (8.2.3.5.15). */
static int other_vector(Ixgbe82599State *s)
{
	uint32_t v = (reg(s, IVAR_MISC) >> 8) & 0xff;
	return (v & IVAR_VALID) ? (int)(v & IVAR_VECTOR) : -1;
}

/*
 * Deliver what is pending and unmasked. MSI-X is edge-triggered: a vector
 * fires once per cause set while unmasked, then auto-clears its cause
 * (EIAC bits 15:0; vectors above 15 always, as the driver's EIAC leaves no
 * choice there) and auto-masks when GPIE.EIAME and EIAM_EX say so
 * (7.3.1.4, 7.3.4). INTx is level: asserted while EICR & EIMS is not 0.
 */
static void update_irq(Ixgbe82599State *s)
{
	PCIDevice *d = PCI_DEVICE(s);

	if (msix_mode(s)) {
		uint64_t fire = s->qcause & s->qmask;
		for (int v = 0; fire && v < MSIX_VECTORS; v++) {
			uint64_t bit = 1ull << v;
			if (!(fire & bit)) {
				continue;
			}
			fire &= ~bit;
			if (v >= 16 || (reg(s, EIAC) & bit)) {
				s->qcause &= ~bit;
			}
			if ((reg(s, GPIE) & GPIE_EIAME) && (s->qautomask & bit)) {
				s->qmask &= ~bit;
			}
			msix_notify(d, v);
		}
		uint32_t other = s->eicr_other & s->eims_other;
		int ov = other_vector(s);
		if (other && ov >= 0) {
			if ((reg(s, GPIE) & GPIE_EIAME) && (reg(s, EIAM) & other)) {
				s->eims_other &= ~(reg(s, EIAM) & other);
			}
			/* The driver reads the causes (EICS) and writes them back to EICR
			 * to clear them; until then the same causes do not fire again. */
			s->eims_other &= ~other;
			msix_notify(d, ov);
		}
		pci_set_irq(d, 0);
		return;
	}
	bool level = (s->eicr_other & s->eims_other) || (s->qcause & s->qmask & EICR_QUEUES);
	pci_set_irq(d, level);
}

/* A queue event: RX queue q (tx false) or TX queue q wrote back descriptors.
 * IVAR(q/2) holds RX q at bits 7:0 (+16 for odd q), TX q at 15:8 (8.2.3.5.14). */
static void queue_event(Ixgbe82599State *s, unsigned q, bool tx)
{
	uint32_t ivar = reg(s, IVAR0 + (q / 2) * 4);
	uint32_t alloc = (ivar >> ((q & 1) * 16 + (tx ? 8 : 0))) & 0xff;
	if (!(alloc & IVAR_VALID)) {
		return;
	}
	unsigned bit = alloc & IVAR_VECTOR;
	if (!msix_mode(s)) {
		bit &= 15; /* EICR has 16 queue bits (7.3.1.3) */
	}
	s->qcause |= 1ull << bit;
	update_irq(s);
}

static void other_event(Ixgbe82599State *s, uint32_t cause)
{
	s->eicr_other |= cause;
	update_irq(s);
}

static uint32_t read_eicr_view(Ixgbe82599State *s)
{
	return (s->eicr_other & EICR_OTHER_CAUSES) | (uint32_t)(s->qcause & EICR_QUEUES);
}

/* --- reset (4.2) ----------------------------------------------------------- */

/*
 * EEPROM image (6.2), 0 but for:
 * - 0x0F, the firmware module pointer, to a block at 0x40 whose word 4
 *   points to the pass-through patch configuration at 0x50, whose word 7
 *   is the firmware patch version, 0x0006: drivers call a missing block or
 *   a version of 5 or less a pre-production part (6.2);
 * - 0x2C, the device capabilities, with bit 7 set: no SFP+ crosstalk
 *   workaround (without it Linux's ixgbe trusts LINKS only while ESDP.SDP2
 *   says a module sits in the cage, and the model has no module);
 * - 0x3F, the checksum, which makes words 0x00-0x3F sum to 0xBABA (6.3.2);
 *   the section pointers 0x03-0x0E are 0, so no other section is summed.
 * The MAC address is loaded into RAL0/RAH0 at reset as the EEPROM auto-read
 * would (6.3.1).
 */
static void eeprom_init(Ixgbe82599State *s)
{
	uint16_t sum = 0;
	memset(s->eeprom, 0, sizeof(s->eeprom));
	s->eeprom[0x0f] = 0x40;
	s->eeprom[0x40 + 4] = 0x50;
	s->eeprom[0x50 + 7] = 0x0006;
	s->eeprom[0x2c] = 1u << 7;
	for (int i = 0; i < 0x3f; i++) {
		sum += s->eeprom[i];
	}
	s->eeprom[0x3f] = 0xbaba - sum;
}

static bool link_up(Ixgbe82599State *s)
{
	return !qemu_get_queue(s->nic)->link_down;
}

static void device_reset_regs(Ixgbe82599State *s)
{
	const uint8_t *mac = s->conf.macaddr.a;

	memset(s->regs, 0, sizeof(s->regs));
	s->qcause = s->qmask = s->qautomask = 0;
	s->eicr_other = s->eims_other = 0;
	s->gorc = s->gotc = s->tor = 0;
	s->gorch_latch = s->gotch_latch = s->torh_latch = 0;
	s->gprc = s->gptc = s->bprc = s->mprc = s->bptc = s->mptc = 0;
	s->tpr = s->tpt = s->mpc = 0;
	s->txlen = 0;
	s->txdrop = false;

	/* Defaults after the EEPROM auto-read (8.2.3, "Initial value"). */
	set_reg(s, EEC, EEC_PRES | EEC_ARD | (4u << EEC_SIZE_SHIFT));
	set_reg(s, RDRXCTL, RDRXCTL_DMAIDONE);
	set_reg(s, HLREG0, HLREG0_TXCRCEN | HLREG0_RXCRCSTRP | HLREG0_TXPADEN);
	set_reg(s, AUTOC, AUTOC_LMS_10G_SERIAL);
	set_reg(s, AUTOC2, AUTOC2_10G_SFI);
	/* Packet buffers: all 512 KiB RX and 160 KiB TX to TC 0 (8.2.3.8.9, 8.2.3.9.13). */
	set_reg(s, RXPBSIZE0, 0x80000);
	set_reg(s, TXPBSIZE0, 0x28000);
	set_reg(s, RAL0, mac[0] | mac[1] << 8 | mac[2] << 16 | (uint32_t)mac[3] << 24);
	set_reg(s, RAH0, mac[4] | mac[5] << 8 | RAH_AV);
	/* RXDCTL/TXDCTL defaults: queue disabled. */
}

static void ixgbe_reset_hold(Object *obj, ResetType type)
{
	Ixgbe82599State *s = IXGBE82599(obj);
	device_reset_regs(s);
	update_irq(s);
}

/* --- TX (7.2) ------------------------------------------------------------- */

static void rx_frame(Ixgbe82599State *s, const uint8_t *buf, size_t size);

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
		rx_frame(s, s->txbuf, len); /* MAC loopback (8.2.3.22.8) */
	} else if (link_up(s)) {
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
	uint64_t base = ((uint64_t)reg(s, b + Q_BAH) << 32) | (reg(s, b + Q_BAL) & ~0x7fu);
	uint32_t n = reg(s, b + Q_LEN) / 16;
	uint32_t head = reg(s, b + Q_HEAD), tail = reg(s, b + Q_TAIL);
	bool wrote = false;

	if (!(reg(s, DMATXCTL) & DMATXCTL_TE) || !(dctl & XDCTL_ENABLE)) {
		return false;
	}
	if (n == 0 || head >= n || tail >= n) {
		qemu_log_mask(LOG_GUEST_ERROR,
			      "ixgbe82599: TX queue %u: head %u or tail %u "
			      "outside a ring of %u descriptors; queue stopped\n",
			      q, head, tail, n);
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
	while (head != tail) {
		if (*budget == 0 && s->txlen == 0 && !s->txdrop) {
			if (wrote) {
				queue_event(s, q, true);
			}
			return true;
		}
		if (*budget) {
			(*budget)--;
		}
		uint8_t desc[16];
		dma_addr_t at = base + head * 16ull;
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
		head = (head + 1) % n;
		set_reg(s, b + Q_HEAD, head);
	}
	if (wrote) {
		queue_event(s, q, true);
	}
	return false;
}

/* Run TX queue q (or every queue when q is NUM_QUEUES) within one budget;
 * the rest is left to the bottom half. */
static void tx_kick(Ixgbe82599State *s, unsigned q)
{
	unsigned budget = TX_BUDGET;
	bool left = false;
	for (unsigned i = q == NUM_QUEUES ? 0 : q; i < NUM_QUEUES; i++) {
		left |= tx_queue(s, i, &budget);
		if (q != NUM_QUEUES) {
			break;
		}
	}
	if (left) {
		qemu_bh_schedule(s->tx_bh);
	}
}

static void tx_bh(void *opaque)
{
	tx_kick(opaque, NUM_QUEUES);
}

/* --- RX (7.1) ------------------------------------------------------------- */

/* Free descriptors of RX queue q (those between head and tail), 0 when the
 * ring registers are inconsistent. */
static uint32_t rx_free(Ixgbe82599State *s, unsigned q)
{
	hwaddr b = rxq_base(q);
	uint32_t n = reg(s, b + Q_LEN) / 16;
	uint32_t head = reg(s, b + Q_HEAD), tail = reg(s, b + Q_TAIL);
	if (n == 0 || head >= n || tail >= n) {
		return 0;
	}
	return (tail + n - head) % n;
}

static uint32_t rx_bufsize(Ixgbe82599State *s, unsigned q)
{
	uint32_t kib = reg(s, rxq_base(q) + Q_SRRCTL) & SRRCTL_BSIZEPKT;
	return kib ? kib * 1024 : 2048; /* 0: the 2 KiB default (8.2.3.8.7) */
}

static bool rx_enabled(Ixgbe82599State *s)
{
	return (reg(s, RXCTRL) & RXCTRL_RXEN) && link_up(s);
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
	uint32_t n = reg(s, b + Q_LEN) / 16;
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
	uint64_t base = ((uint64_t)reg(s, b + Q_BAH) << 32) | (reg(s, b + Q_BAL) & ~0x7fu);
	uint32_t head = reg(s, b + Q_HEAD);
	bool advanced = SRRCTL_DESCTYPE(srrctl) != 0;
	size_t done = 0;

	count_rx(s, frame, len);
	while (done < len) {
		dma_addr_t at = base + head * 16ull;
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
		head = (head + 1) % n;
		set_reg(s, b + Q_HEAD, head);
	}
	queue_event(s, q, false);
	return true;
}

static void rx_frame(Ixgbe82599State *s, const uint8_t *buf, size_t size)
{
	if (size < ETH_ALEN || !rx_accept(s, buf)) {
		return;
	}
	rx_put(s, buf, size);
}

static bool ixgbe_can_receive(NetClientState *nc)
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

static ssize_t ixgbe_receive(NetClientState *nc, const uint8_t *buf, size_t size)
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

static void ixgbe_link_status_changed(NetClientState *nc)
{
	Ixgbe82599State *s = qemu_get_nic_opaque(nc);
	other_event(s, EICR_LSC);
}

/* --- registers ------------------------------------------------------------ */

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

static uint64_t ixgbe_read(void *opaque, hwaddr addr, unsigned size)
{
	Ixgbe82599State *s = opaque;
	hwaddr off = canonical(addr & ~3ull);

	switch (off) {
	case CTRL:
	case EEC:
	case EERD:
	case EEWR:
		break;
	case SWSM: {
		/* Reading SMBI as 0 takes the semaphore: the read sets it (the
		 * driver's EEPROM/PHY semaphore protocol, 10.5.4). */
		uint32_t v = reg(s, SWSM);
		set_reg(s, SWSM, v | SWSM_SMBI);
		return v;
	}
	case STATUS: {
		uint32_t v = reg(s, STATUS) & ~(STATUS_LINKUP | STATUS_GIO);
		if (link_up(s)) {
			v |= STATUS_LINKUP;
		}
		if (!(reg(s, CTRL) & CTRL_GIO_DIS)) {
			v |= STATUS_GIO; /* no request pending, so master disable is at once */
		}
		return v;
	}
	case I2CCTL: {
		/* No SFP+ module on the I2C bus: SCL and SDA read back what the
		 * driver drives, so every address byte is NACKed and the driver
		 * finds no module (it then keeps the 10G serial link of AUTOC). */
		uint32_t v = reg(s, I2CCTL) & (I2C_SCL_OUT | I2C_DATA_OUT);
		return v | ((v & I2C_SCL_OUT) ? I2C_SCL_IN : 0) |
		       ((v & I2C_DATA_OUT) ? I2C_DATA_IN : 0);
	}
	case FWSM:
		return FWSM_FW_VAL; /* firmware valid, no manageability mode */
	case MSCA:
	case MSRWD:
	case SW_FW_SYNC:
	case AUTOC:
	case AUTOC2:
	case HLREG0:
	case RDRXCTL:
	case RXCTRL:
	case DMATXCTL:
	case FCTRL:
		break;
	case LINKS:
		return link_up(s) ? LINKS_UP_10G : 0;
	case ANLP1:
		return ANLP1_AN_STATE; /* AN state machine not idle */
	case SECTXSTAT:
	case SECRXSTAT:
		return 1; /* the security blocks are always ready (8.2.3.12) */
	case EICR: {
		uint32_t v = read_eicr_view(s);
		if (!msix_mode(s)) { /* read-to-clear outside MSI-X mode (8.2.3.5.1) */
			s->eicr_other = 0;
			s->qcause &= ~(uint64_t)EICR_QUEUES;
			update_irq(s);
		}
		return v;
	}
	case EICS:
		return read_eicr_view(s); /* EICS reads the causes without clearing */
	case EIMS:
		return (s->eims_other & EICR_OTHER_CAUSES) | (uint32_t)(s->qmask & EICR_QUEUES);
	case EIMS_EX0:
	case EIMS_EX0 + 4:
		return (uint32_t)(s->qmask >> ((off - EIMS_EX0) * 8));
	case EIAM_EX0:
	case EIAM_EX0 + 4:
		return (uint32_t)(s->qautomask >> ((off - EIAM_EX0) * 8));
	case EIMC:
	case EIMC_EX0:
	case EIMC_EX0 + 4:
	case EICS_EX0:
	case EICS_EX0 + 4:
		return 0; /* write-only */
	case EIAM:
		break;
	case FDIRCTRL:
		return reg(s, FDIRCTRL) | FDIRCTRL_INIT_DONE;
	case FDIRCMD:
		return reg(s, FDIRCMD) & ~FDIRCMD_CMD; /* commands complete at once */
	case GPRC:
		return read_clear(&s->gprc);
	case GPTC:
		return read_clear(&s->gptc);
	case BPRC:
		return read_clear(&s->bprc);
	case MPRC:
		return read_clear(&s->mprc);
	case BPTC:
		return read_clear(&s->bptc);
	case MPTC:
		return read_clear(&s->mptc);
	case TPR:
		return read_clear(&s->tpr);
	case TPT:
		return read_clear(&s->tpt);
	case MPC0:
		return read_clear(&s->mpc);
	case GORCL:
		return read_low(&s->gorc, &s->gorch_latch);
	case GORCH:
		return read_clear(&s->gorch_latch);
	case GOTCL:
		return read_low(&s->gotc, &s->gotch_latch);
	case GOTCH:
		return read_clear(&s->gotch_latch);
	case TORL:
		return read_low(&s->tor, &s->torh_latch);
	case TORH:
		return read_clear(&s->torh_latch);
	default:
		if ((off > MPC0 && off < MPC0 + 32) || is_zero_stat(off)) {
			return 0;
		}
		if (!is_plain(off)) {
			log_unknown(s, off, false, 0);
		}
		break;
	}
	return reg(s, off);
}

static void swsm_write(Ixgbe82599State *s, uint32_t val)
{
	set_reg(s, SWSM, val & 3);
}

static void ixgbe_write(void *opaque, hwaddr addr, uint64_t val64, unsigned size)
{
	Ixgbe82599State *s = opaque;
	hwaddr off = canonical(addr & ~3ull);
	uint32_t val = val64;

	/* Per-queue registers with behaviour. */
	bool rxq = (off >= RXQ_LO && off < RXQ_LO + 64 * 0x40) ||
		   (off >= RXQ_HI && off < RXQ_HI + 64 * 0x40);
	bool txq = off >= TXQ && off < TXQ + NUM_QUEUES * 0x40;
	if (rxq || txq) {
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
		} else if (r == Q_HEAD && val >= reg(s, (off & ~0x3full) + Q_LEN) / 16 &&
			   val != 0) {
			qemu_log_mask(LOG_GUEST_ERROR,
				      "ixgbe82599: head 0x%x beyond the ring "
				      "at 0x%05" HWADDR_PRIx "\n",
				      val, off);
			set_reg(s, off, val);
		} else {
			set_reg(s, off, val);
		}
		if (txq && (r == Q_TAIL || r == Q_DCTL)) {
			tx_kick(s, (off - TXQ) / 0x40);
		}
		if (rxq && (r == Q_TAIL || r == Q_DCTL) && (off & ~0x3full) == rxq_base(0)) {
			/* New descriptors: frames QEMU held back may fit now. */
			qemu_flush_queued_packets(qemu_get_queue(s->nic));
		}
		return;
	}

	switch (off) {
	case CTRL:
		if (val & (CTRL_RST | CTRL_LRST)) {
			/* Software reset (4.2.1.6.1): registers to their defaults, done
			 * by the time the driver polls, so RST reads back 0. */
			device_reset_regs(s);
			update_irq(s);
			return;
		}
		set_reg(s, CTRL, val);
		return;
	case STATUS:
	case LINKS:
	case FWSM:
		return; /* read-only */
	case EEC:
		/* The grant follows the request at once (no other EEPROM user). */
		set_reg(s, EEC,
			(reg(s, EEC) & ~(EEC_REQ | EEC_GNT)) |
				((val & EEC_REQ) ? EEC_REQ | EEC_GNT : 0));
		return;
	case EERD:
	case EEWR: {
		uint32_t a = (val >> EERD_ADDR_SHIFT) & 0x3fff;
		uint32_t data = 0;
		if (val & EERD_START) {
			if (a < EEPROM_WORDS) {
				if (off == EEWR) {
					s->eeprom[a] = val >> EERD_DATA_SHIFT;
				}
				data = s->eeprom[a];
			} else {
				qemu_log_mask(LOG_GUEST_ERROR,
					      "ixgbe82599: EEPROM word 0x%x beyond "
					      "its %u words\n",
					      a, EEPROM_WORDS);
			}
		}
		set_reg(s, off, (data << EERD_DATA_SHIFT) | (a << EERD_ADDR_SHIFT) | EERD_DONE);
		return;
	}
	case SWSM:
		swsm_write(s, val);
		return;
	case MSCA:
		/*
		 * No PHY sits on the MDIO bus (the 82599 SFI port has none): a
		 * command completes at once and a read returns all ones, as an
		 * MDIO bus with nobody driving it does (8.2.3.22.11-12).
		 */
		set_reg(s, MSCA, val & ~MSCA_MDI_COMMAND);
		set_reg(s, MSRWD, 0xffff0000u | (reg(s, MSRWD) & 0xffff));
		return;
	case MSRWD:
		set_reg(s, MSRWD, (reg(s, MSRWD) & 0xffff0000u) | (val & 0xffff));
		return;
	case SW_FW_SYNC:
	case AUTOC:
	case AUTOC2:
	case HLREG0:
	case FCTRL:
	case I2CCTL:
	case EIAM:
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
		tx_kick(s, NUM_QUEUES);
		return;
	case EICR: /* write 1 to clear */
		s->eicr_other &= ~(val & EICR_OTHER_CAUSES);
		s->qcause &= ~(uint64_t)(val & EICR_QUEUES);
		update_irq(s);
		return;
	case EICS:
		s->eicr_other |= val & EICR_OTHER_CAUSES;
		s->qcause |= val & EICR_QUEUES;
		update_irq(s);
		return;
	case EICS_EX0:
	case EICS_EX0 + 4:
		s->qcause |= (uint64_t)val << ((off - EICS_EX0) * 8);
		update_irq(s);
		return;
	case EIMS:
		s->eims_other |= val & EICR_OTHER_CAUSES;
		s->qmask |= val & EICR_QUEUES;
		update_irq(s);
		return;
	case EIMC:
		s->eims_other &= ~(val & EICR_OTHER_CAUSES);
		s->qmask &= ~(uint64_t)(val & EICR_QUEUES);
		update_irq(s);
		return;
	case EIMS_EX0:
	case EIMS_EX0 + 4:
		s->qmask |= (uint64_t)val << ((off - EIMS_EX0) * 8);
		update_irq(s);
		return;
	case EIMC_EX0:
	case EIMC_EX0 + 4:
		s->qmask &= ~((uint64_t)val << ((off - EIMC_EX0) * 8));
		update_irq(s);
		return;
	case EIAM_EX0:
	case EIAM_EX0 + 4: {
		unsigned sh = (off - EIAM_EX0) * 8;
		s->qautomask = (s->qautomask & ~(0xffffffffull << sh)) | ((uint64_t)val << sh);
		return;
	}
	case GPIE:
		set_reg(s, off, val);
		update_irq(s);
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

static const MemoryRegionOps mmio_ops = {
	.read = ixgbe_read,
	.write = ixgbe_write,
	.endianness = DEVICE_LITTLE_ENDIAN,
	.impl = {.min_access_size = 4, .max_access_size = 4},
	.valid = {.min_access_size = 4, .max_access_size = 4},
};

/* --- device --------------------------------------------------------------- */

static NetClientInfo net_ixgbe_info = {
	.type = NET_CLIENT_DRIVER_NIC,
	.size = sizeof(NICState),
	.can_receive = ixgbe_can_receive,
	.receive = ixgbe_receive,
	.link_status_changed = ixgbe_link_status_changed,
};

static void ixgbe_realize(PCIDevice *d, Error **errp)
{
	Ixgbe82599State *s = IXGBE82599(d);

	d->config[PCI_CACHE_LINE_SIZE] = 0x10;
	d->config[PCI_INTERRUPT_PIN] = 1;

	memory_region_init_io(&s->mmio, OBJECT(s), &mmio_ops, s, "ixgbe82599-mmio", MMIO_SIZE);
	pci_register_bar(d, 0, PCI_BASE_ADDRESS_SPACE_MEMORY | PCI_BASE_ADDRESS_MEM_TYPE_64,
			 &s->mmio);
	memory_region_init(&s->msix, OBJECT(s), "ixgbe82599-msix", MSIX_BAR_SIZE);
	pci_register_bar(d, MSIX_BAR, PCI_BASE_ADDRESS_SPACE_MEMORY | PCI_BASE_ADDRESS_MEM_TYPE_64,
			 &s->msix);

	/* Capabilities where the 82599 has them (9.3.7): the driver reads PCIe
	 * device status at the fixed offset 0xAA (cap 0xA0 + 0x0A). */
	if (pci_is_express(d) && pcie_endpoint_cap_init(d, 0xa0) < 0) {
		error_setg(errp, "ixgbe82599: cannot add the PCIe capability");
		return;
	}
	if (msix_init(d, MSIX_VECTORS, &s->msix, MSIX_BAR, 0, &s->msix, MSIX_BAR, 0x2000, 0x70,
		      errp) < 0) {
		return;
	}
	for (int i = 0; i < MSIX_VECTORS; i++) {
		msix_vector_use(d, i);
	}

	s->txbuf = g_malloc0(MAX_FRAME + MIN_FRAME);
	s->rxbuf = g_malloc(MAX_FRAME + MIN_FRAME + 4);
	qemu_macaddr_default_if_unset(&s->conf.macaddr);
	eeprom_init(s);
	s->nic = qemu_new_nic(&net_ixgbe_info, &s->conf, object_get_typename(OBJECT(s)),
			      DEVICE(d)->id, &DEVICE(d)->mem_reentrancy_guard, s);
	/* Guarded like MMIO: TX work in the bottom half cannot DMA into this
	 * device's own registers either. */
	s->tx_bh = qemu_bh_new_guarded(tx_bh, s, &DEVICE(d)->mem_reentrancy_guard);
	qemu_format_nic_info_str(qemu_get_queue(s->nic), s->conf.macaddr.a);
	device_reset_regs(s);
}

static void ixgbe_exit(PCIDevice *d)
{
	Ixgbe82599State *s = IXGBE82599(d);
	msix_unuse_all_vectors(d);
	msix_uninit(d, &s->msix, &s->msix);
	qemu_bh_delete(s->tx_bh);
	qemu_del_nic(s->nic);
	g_free(s->txbuf);
	g_free(s->rxbuf);
}

/* Migration is not modelled: say so rather than lose state silently. */
static const VMStateDescription ixgbe_vmstate = {
	.name = TYPE_IXGBE82599,
	.unmigratable = 1,
};

static const Property ixgbe_properties[] = {
	DEFINE_NIC_PROPERTIES(Ixgbe82599State, conf),
};

static void ixgbe_class_init(ObjectClass *klass, void *data)
{
	DeviceClass *dc = DEVICE_CLASS(klass);
	ResettableClass *rc = RESETTABLE_CLASS(klass);
	PCIDeviceClass *c = PCI_DEVICE_CLASS(klass);

	c->realize = ixgbe_realize;
	c->exit = ixgbe_exit;
	c->vendor_id = PCI_VENDOR_ID_INTEL;
	c->device_id = IXGBE_DEVICE_ID;
	c->revision = 1;
	c->subsystem_vendor_id = PCI_VENDOR_ID_INTEL;
	c->subsystem_id = 0x000c;
	c->class_id = PCI_CLASS_NETWORK_ETHERNET;
	rc->phases.hold = ixgbe_reset_hold;
	dc->desc = "Intel 82599 10 Gigabit Ethernet Controller (Maple's model)";
	dc->vmsd = &ixgbe_vmstate;
	device_class_set_props(dc, ixgbe_properties);
	set_bit(DEVICE_CATEGORY_NETWORK, dc->categories);
}

static const TypeInfo ixgbe_info = {
	.name = TYPE_IXGBE82599,
	.parent = TYPE_PCI_DEVICE,
	.instance_size = sizeof(Ixgbe82599State),
	.class_init = ixgbe_class_init,
	.interfaces = (InterfaceInfo[]){{INTERFACE_PCIE_DEVICE}, {}},
};

static void ixgbe_register_types(void)
{
	type_register_static(&ixgbe_info);
}

type_init(ixgbe_register_types)
