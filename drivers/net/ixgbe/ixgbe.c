/*
 * ixgbe: the Intel 82599 10 GbE driver (8086:10fb, the SFP+ part) for the
 * PCI function the kernel grants it, `ixgbe0`: the chip's register map and
 * its start-up sequence. The rings and the Net interface are the shared
 * Intel core's (drivers/net/intel), as for igb. Section numbers are the
 * Intel 82599 10 GbE Controller Datasheet's (rev 3.x).
 *
 * Start-up, in the order of 4.6.3 ("Initialization Sequence"):
 *   4.6.3.1  interrupts masked (EIMC): the driver polls;
 *   4.6.3.2  global reset (CTRL.RST), its self-clear awaited, 10 ms, the
 *            interrupts masked again; the EEPROM auto-read (EEC.ARD) and
 *            the DMA initialisation (RDRXCTL.DMAIDONE) awaited;
 *   4.6.4    link setup: AUTOC.LMS 10 GbE serial and an autonegotiation
 *            restart; LINKS.LINK_UP says when it is up;
 *   4.6.7    receive: MAC from RAL0/RAH0, multicast table cleared, FCTRL
 *            filtering, HLREG0/RDRXCTL CRC strip; the core then programs
 *            queue 0 (SRRCTL advanced one-buffer, RDBAL/RDBAH/RDLEN,
 *            RDH/RDT, RXDCTL.ENABLE polled); enable() sets RXCTRL.RXEN last;
 *   4.6.8    transmit: HLREG0 CRC and padding, DMATXCTL.TE, before the core
 *            programs queue 0 (TDBAL..., TXDCTL.ENABLE polled), as 4.6.8
 *            orders: a queue is enabled only once TE is set.
 * domain_main is ixgbe_main.c's (ixgbe.h).
 */
#include <net/ixgbe/ixgbe.h>

/* Register map (8.1.3, table 8-3 "Register Summary"); offsets into BAR 0. */
#define CTRL	  0x00000 /* 8.2.3.1.1 Device Control */
#define CTRL_EXT  0x00018 /* 8.2.3.1.3 Extended Device Control */
#define EIMC	  0x00888 /* 8.2.3.5.4 Extended Interrupt Mask Clear */
#define RDRXCTL	  0x02f00 /* 8.2.3.8.8 Receive DMA Control */
#define RXCTRL	  0x03000 /* 8.2.3.8.10 Receive Control */
#define HLREG0	  0x04240 /* 8.2.3.22.8 MAC Core Control 0 */
#define AUTOC	  0x042a0 /* 8.2.3.22.19 Auto-Negotiation Control */
#define LINKS	  0x042a4 /* 8.2.3.22.20 Link Status */
#define DMATXCTL  0x04a80 /* 8.2.3.9.2 DMA Tx Control */
#define FCTRL	  0x05080 /* 8.2.3.7.1 Filter Control */
#define MTA	  0x05200 /* 8.2.3.7.7 Multicast Table Array, 128 dwords */
#define RAL0	  0x0a200 /* 8.2.3.7.8 Receive Address Low */
#define RAH0	  0x0a204 /* 8.2.3.7.9 Receive Address High */
#define EEC	  0x10010 /* 8.2.3.2.1 EEPROM/Flash Control */
#define MTA_WORDS 128
_Static_assert(RAH0 == RAL0 + 4, "8.2.3.7.9: RAH follows RAL");
_Static_assert(MTA + 4 * MTA_WORDS <= RAL0, "8.2.3.7.7: the table ends before RAL0");

#define CTRL_RST	     (1u << 26)	   /* 8.2.3.1.1: device reset, self-clearing */
#define CTRL_EXT_NS_DIS	     (1u << 16)	   /* 8.2.3.1.3: no snoop off: DMA stays cache-coherent */
#define CTRL_EXT_DRV_LOAD    (1u << 28)	   /* 8.2.3.1.3: a driver has taken the device */
#define EIMC_ALL	     0x7fffffffu   /* 8.2.3.5.4: bits 30:0; 31 is reserved */
#define EEC_ARD		     (1u << 9)	   /* 8.2.3.2.1: EEPROM auto-read done */
#define RDRXCTL_CRCSTRIP     (1u << 1)	   /* 8.2.3.8.8: must match HLREG0.RXCRCSTRP */
#define RDRXCTL_DMAIDONE     (1u << 3)	   /* 8.2.3.8.8: DMA init done */
#define RDRXCTL_RSCFRSTSIZE  (0x1fu << 17) /* 4.6.7: to be cleared from its default */
#define RDRXCTL_RSCACKC	     (1u << 25)	   /* 4.6.7: to be set */
#define RDRXCTL_FCOE_WRFIX   (1u << 26)	   /* 4.6.7: to be set */
#define RXCTRL_RXEN	     (1u << 0)	   /* 8.2.3.8.10 */
#define HLREG0_TXCRCEN	     (1u << 0)	   /* 8.2.3.22.8: append the FCS */
#define HLREG0_RXCRCSTRP     (1u << 1)	   /* strip the FCS */
#define HLREG0_JUMBOEN	     (1u << 2)	   /* off: frames over 1518 (+4 VLAN) dropped */
#define HLREG0_TXPADEN	     (1u << 10)	   /* pad short frames */
#define AUTOC_AN_RESTART     (1u << 12)	   /* 8.2.3.22.19, self-clearing */
#define AUTOC_LMS_SHIFT	     13		   /* link mode select, bits 15:13 */
#define AUTOC_LMS_MASK	     (7u << AUTOC_LMS_SHIFT)
#define AUTOC_LMS_10G_SERIAL (3u << AUTOC_LMS_SHIFT) /* 011b: 10 GbE serial (SFI) */
#define LINKS_UP	     (1u << 30)		     /* 8.2.3.22.20 */
#define DMATXCTL_TE	     (1u << 0)		     /* 8.2.3.9.2: transmit enable */
#define FCTRL_MPE	     (1u << 8)		     /* 8.2.3.7.1: multicast promiscuous */
#define FCTRL_UPE	     (1u << 9)		     /* unicast promiscuous */
#define FCTRL_BAM	     (1u << 10)		     /* broadcast accept */
#define RAH_AV		     (1u << 31)		     /* 8.2.3.7.9: address valid */

/* 8.2.3.8 and 8.2.3.9: queue n (< 64) has its RX block at 0x1000 + 0x40*n
 * (SRRCTL at +0x14, 8.2.3.8.7, Drop_En its bit 28), TX at 0x6000 + 0x40*n. */
#define RX_QUEUES      0x01000
#define TX_QUEUES      0x06000
#define SRRCTL	       0x14
#define SRRCTL_DROP_EN (1u << 28)
_Static_assert(RX_QUEUES + 64 * INTEL_QUEUE_STRIDE <= RDRXCTL,
	       "the 64 RX queue blocks end before RDRXCTL");

#define RESET_NS    100000000ULL  /* RST clears within microseconds; 100 ms is broken */
#define SETTLE_NS   10000000ULL	  /* 4.6.3.2: 10 ms after the reset before more access */
#define AUTOREAD_NS 1000000000ULL /* EEC.ARD, DMAIDONE: milliseconds; a second is broken */

static uint32_t rd(volatile uint8_t *regs, uint32_t off)
{
	return *(volatile uint32_t *)(regs + off);
}

static void wr(volatile uint8_t *regs, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(regs + off) = v;
}

static void set(volatile uint8_t *regs, uint32_t off, uint32_t bits)
{
	wr(regs, off, rd(regs, off) | bits);
}

/* Poll until (reg & bit) == want, up to ns: true if it got there. */
static bool await(volatile uint8_t *regs, uint32_t off, uint32_t bit, bool want, uint64_t ns)
{
	uint64_t deadline = maple_clock_ns() + ns;
	while (!(rd(regs, off) & bit) != !want) {
		if (maple_clock_ns() > deadline)
			return false;
		maple_sleep_ns(1000000);
	}
	return true;
}

static long reset(volatile uint8_t *regs, uint64_t *mac)
{
	/* 4.6.3.1: no interrupts. 4.6.3.2: the global reset. Bus mastering
	 * is still off (the core turns it on after the rings), so no DMA is
	 * in flight for the master-disable handshake (5.2.5.3.2) to drain. */
	wr(regs, EIMC, EIMC_ALL);
	set(regs, CTRL, CTRL_RST);
	maple_sleep_ns(1000000);
	if (!await(regs, CTRL, CTRL_RST, false, RESET_NS)) {
		dom_printf("ixgbe: ixgbe0: CTRL.RST still set %llu ms after a reset",
			   RESET_NS / 1000000);
		return -MAPLE_EIO;
	}
	maple_sleep_ns(SETTLE_NS);
	wr(regs, EIMC, EIMC_ALL); /* 4.6.3.1: again, after the reset */
	/* 4.6.3.2: the EEPROM auto-read (it loads the MAC address and the
	 * link defaults) and the DMA initialisation must be done before the
	 * registers they set are used. */
	if (!await(regs, EEC, EEC_ARD, true, AUTOREAD_NS)) {
		dom_printf("ixgbe: ixgbe0: EEC.ARD (EEPROM auto-read done) still clear 1000 ms "
			   "after the reset");
		return -MAPLE_EIO;
	}
	if (!await(regs, RDRXCTL, RDRXCTL_DMAIDONE, true, AUTOREAD_NS)) {
		dom_printf("ixgbe: ixgbe0: RDRXCTL.DMAIDONE still clear 1000 ms after the reset");
		return -MAPLE_EIO;
	}
	/* 8.2.3.1.3: coherent DMA (the driver does not flush caches around
	 * buffers), and tell the firmware a driver runs the port. */
	set(regs, CTRL_EXT, CTRL_EXT_NS_DIS | CTRL_EXT_DRV_LOAD);

	/* 4.6.4: link setup for the SFP+ part: 10 GbE serial link mode, then
	 * an autonegotiation restart that applies it. LINKS.LINK_UP comes up
	 * when the link does (link_up(), and the core's watch thread logs a
	 * link still down a second after the start). */
	wr(regs, AUTOC, (rd(regs, AUTOC) & ~AUTOC_LMS_MASK) | AUTOC_LMS_10G_SERIAL);
	set(regs, AUTOC, AUTOC_AN_RESTART);

	/* 4.6.7: the MAC address the EEPROM auto-read put in RAL0/RAH0 (AV
	 * set). A port whose EEPROM gave none cannot be addressed. */
	uint32_t lo = rd(regs, RAL0), hi = rd(regs, RAH0);
	if (!(hi & RAH_AV)) {
		dom_printf("ixgbe: ixgbe0: RAH0.AV clear after the EEPROM auto-read: no MAC "
			   "address");
		return -MAPLE_EIO;
	}
	*mac = (uint64_t)lo | (uint64_t)(hi & 0xffff) << 32;
	/* 4.6.7: multicast table cleared; the Net interface has no address
	 * filter, so the port takes every frame (UPE, MPE, BAM). The FCS is
	 * stripped (HLREG0 and RDRXCTL must agree, 8.2.3.8.8), so a frame's
	 * length is the one the client sees; jumbo frames stay off, so the
	 * device stores no frame over 1522 bytes, which NetPacket.data holds
	 * (intel_ring.c). RDRXCTL's RSC fields as 4.6.7 asks. */
	for (uint32_t i = 0; i < MTA_WORDS; i++)
		wr(regs, MTA + 4 * i, 0);
	wr(regs, FCTRL, rd(regs, FCTRL) | FCTRL_BAM | FCTRL_MPE | FCTRL_UPE);
	wr(regs, HLREG0,
	   (rd(regs, HLREG0) & ~HLREG0_JUMBOEN) | HLREG0_RXCRCSTRP | HLREG0_TXCRCEN |
		   HLREG0_TXPADEN);
	wr(regs, RDRXCTL,
	   (rd(regs, RDRXCTL) & ~RDRXCTL_RSCFRSTSIZE) | RDRXCTL_CRCSTRIP | RDRXCTL_RSCACKC |
		   RDRXCTL_FCOE_WRFIX);
	/* 4.6.8: transmit DMA on before any queue is enabled (HLREG0's CRC
	 * and padding bits are set above). */
	set(regs, DMATXCTL, DMATXCTL_TE);
	return 0;
}

/* 4.6.7: the receiver is enabled last, once queue 0 is programmed. */
static void enable(volatile uint8_t *regs)
{
	set(regs, RXCTRL, RXCTRL_RXEN);
}

static bool link_up(volatile uint8_t *regs)
{
	return rd(regs, LINKS) & LINKS_UP;
}

static const struct intel_chip ixgbe = {
	.name = "ixgbe",
	.device = "ixgbe0",
	.link_bit = "LINKS.LINK_UP",
	.queues = {.rx_base = RX_QUEUES,
		   .tx_base = TX_QUEUES,
		   .srrctl = SRRCTL,
		   .srrctl_drop_en = SRRCTL_DROP_EN},
	.regs_end = EEC + 4,
	.reset = reset,
	.enable = enable,
	.link_up = link_up,
};

long ixgbe_start(void)
{
	return intel_net_start(&ixgbe);
}
