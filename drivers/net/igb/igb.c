/*
 * igb: the Intel 82576 driver (QEMU's `igb`, 8086:10c9) for the PCI
 * function the kernel grants it, `igb0`: the chip's register map, reset,
 * link and start-up sequence. The rings and the Net interface are the
 * shared Intel core's (drivers/net/intel). Section numbers are the Intel
 * 82576EB GbE Controller Datasheet's (rev 2.x).
 *
 * Start (4.5, "Software Initialization Sequence"): mask interrupts (the
 * driver polls), global reset (CTRL.RST) and wait for it to finish, mask
 * again, set link up (4.5.7: CTRL.SLU and an autonegotiation restart in
 * the internal PHY through MDIC),
 * read the MAC address the reset loaded into RAL0/RAH0 (or from the
 * EEPROM), clear the multicast table, set up receive (4.5.9) and transmit
 * (4.5.10) control; the core then programs queue 0's rings and enable()
 * turns RCTL.EN and TCTL.EN on. domain_main is igb_main.c's (igb.h).
 */
#include <net/igb/igb.h>

/* Register map (8.1.3, table 8-2); offsets into BAR 0. */
#define CTRL	  0x00000 /* 8.2.1 Device Control */
#define STATUS	  0x00008 /* 8.2.2 Device Status */
#define EERD	  0x00014 /* 8.4.3 EEPROM Read */
#define MDIC	  0x00020 /* 8.2.4 MDI Control: the internal PHY's registers */
#define IMC	  0x0150c /* 8.8.13 Interrupt Mask Clear */
#define EIMC	  0x01528 /* 8.8.6 Extended Interrupt Mask Clear */
#define RCTL	  0x00100 /* 8.10.1 Receive Control */
#define TCTL	  0x00400 /* 8.12.1 Transmit Control */
#define MTA	  0x05200 /* 8.10.15 Multicast Table Array, 128 dwords */
#define RAL0	  0x05400 /* 8.10.13 Receive Address Low */
#define RAH0	  0x05404 /* 8.10.14 Receive Address High */
#define MTA_WORDS 128
_Static_assert(RAH0 == RAL0 + 4, "8.10.14: RAH follows RAL");
_Static_assert(MTA + 4 * MTA_WORDS == RAL0, "8.10.15: the table ends where RAL0 starts");

#define CTRL_SLU	(1u << 6)  /* set link up */
#define CTRL_RST	(1u << 26) /* device reset, self-clearing */
#define STATUS_LU	(1u << 1)  /* link up */
#define EERD_START	(1u << 0)
#define EERD_DONE	(1u << 1)
#define EERD_ADDR_SHIFT 2
#define EERD_DATA_SHIFT 16
#define RAH_AV		(1u << 31) /* address valid */
#define MDIC_REG_SHIFT	16	   /* REGADD, bits 20:16 */
#define MDIC_PHY_SHIFT	21	   /* PHYADD, bits 25:21 */
#define MDIC_OP_WRITE	(1u << 26) /* OP, bits 27:26: 01 write, 10 read */
#define MDIC_OP_READ	(2u << 26)
#define MDIC_READY	(1u << 28)
#define MDIC_ERROR	(1u << 30)
#define PHY_ADDR	1	   /* the internal PHY's MDIO address (8.2.4) */
#define PHY_BMCR	0	   /* PHY control (IEEE 802.3 clause 22, register 0) */
#define BMCR_ANRESTART	(1u << 9)  /* restart autonegotiation, self-clearing */
#define BMCR_AUTOEN	(1u << 12) /* autonegotiation enable */
#define RCTL_EN		(1u << 1)
#define RCTL_UPE	(1u << 3)  /* unicast promiscuous */
#define RCTL_MPE	(1u << 4)  /* multicast promiscuous */
#define RCTL_BAM	(1u << 15) /* broadcast accept */
#define RCTL_SECRC	(1u << 26) /* strip the FCS */
#define TCTL_EN		(1u << 1)
#define TCTL_PSP	(1u << 3)     /* pad short packets */
#define TCTL_CT		(0x0fu << 4)  /* collision threshold, 8.12.1's value */
#define TCTL_COLD	(0x3fu << 12) /* collision distance, full duplex */

/* 8.10 and 8.12: queue n's RX block at 0xC000 + 0x40*n (SRRCTL at +0x0C,
 * 8.10.2), TX at 0xE000 + 0x40*n. */
#define RX_QUEUES      0xc000
#define TX_QUEUES      0xe000
#define SRRCTL	       0x0c
#define SRRCTL_DROP_EN (1u << 31) /* 8.10.2 */
_Static_assert(RX_QUEUES + 16 * INTEL_QUEUE_STRIDE <= TX_QUEUES,
	       "the 16 RX queue blocks end before the TX blocks");

#define RESET_NS 100000000ULL /* RST clears within microseconds; 100 ms is broken */

static uint32_t rd(volatile uint8_t *regs, uint32_t off)
{
	return *(volatile uint32_t *)(regs + off);
}

static void wr(volatile uint8_t *regs, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(regs + off) = v;
}

/* One EEPROM word through EERD (8.4.3), or -1 if it never completes. */
static long eeprom_word(volatile uint8_t *regs, uint32_t word)
{
	wr(regs, EERD, word << EERD_ADDR_SHIFT | EERD_START);
	uint64_t deadline = maple_clock_ns() + 10000000;
	uint32_t v;
	while (!((v = rd(regs, EERD)) & EERD_DONE))
		if (maple_clock_ns() > deadline)
			return -1;
	return v >> EERD_DATA_SHIFT;
}

/* One PHY register access through MDIC (8.2.4): the value read (or 0
 * after a write), or -MAPLE_EIO if MDIC never says ready or says error. */
static long mdic(volatile uint8_t *regs, uint32_t reg, uint32_t op, uint16_t val)
{
	wr(regs, MDIC, val | reg << MDIC_REG_SHIFT | PHY_ADDR << MDIC_PHY_SHIFT | op);
	uint64_t deadline = maple_clock_ns() + 10000000;
	uint32_t v;
	while (!((v = rd(regs, MDIC)) & MDIC_READY))
		if (maple_clock_ns() > deadline)
			return -MAPLE_EIO;
	return v & MDIC_ERROR ? -MAPLE_EIO : (long)(v & 0xffff);
}

static long reset(volatile uint8_t *regs, uint64_t *mac)
{
	/* 4.5.1: no interrupts; 4.5.2 / 8.2.1: global reset. */
	wr(regs, IMC, 0xffffffffu);
	wr(regs, EIMC, 0xffffffffu);
	wr(regs, CTRL, rd(regs, CTRL) | CTRL_RST);
	maple_sleep_ns(1000000); /* 4.5.2: wait at least 1 ms before reading back */
	uint64_t deadline = maple_clock_ns() + RESET_NS;
	while (rd(regs, CTRL) & CTRL_RST) {
		if (maple_clock_ns() > deadline) {
			dom_printf("igb: igb0: CTRL.RST still set %llu ms after a reset",
				   RESET_NS / 1000000);
			return -MAPLE_EIO;
		}
		maple_sleep_ns(1000000);
	}
	wr(regs, IMC, 0xffffffffu); /* 4.5.1: again, after the reset */
	wr(regs, EIMC, 0xffffffffu);
	/* 4.5.7.1: link setup with the internal copper PHY: CTRL.SLU, then
	 * (re)start autonegotiation in the PHY's control register; STATUS.LU
	 * comes up when it completes (link() and watch_link read it). */
	wr(regs, CTRL, rd(regs, CTRL) | CTRL_SLU);
	long bmcr = mdic(regs, PHY_BMCR, MDIC_OP_READ, 0);
	if (bmcr >= 0)
		bmcr = mdic(regs, PHY_BMCR, MDIC_OP_WRITE,
			    (uint16_t)(bmcr | BMCR_AUTOEN | BMCR_ANRESTART));
	if (bmcr < 0) {
		dom_printf("igb: igb0: MDIC never completed a PHY control access: no link setup");
		return bmcr;
	}

	/* 8.10.13/14: the reset loads RAL0/RAH0 from the EEPROM's words 0-2
	 * (6.2.1); if it did not (AV clear), read the EEPROM ourselves. */
	uint32_t lo = rd(regs, RAL0), hi = rd(regs, RAH0);
	if (!(hi & RAH_AV)) {
		long w[3];
		for (uint32_t i = 0; i < 3; i++)
			if ((w[i] = eeprom_word(regs, i)) < 0) {
				dom_printf("igb: igb0: RAH0.AV clear and EERD never completes: "
					   "no MAC address");
				return -MAPLE_EIO;
			}
		lo = (uint32_t)(w[0] | w[1] << 16);
		hi = (uint32_t)w[2] | RAH_AV;
		wr(regs, RAL0, lo);
		wr(regs, RAH0, hi);
	}
	*mac = (uint64_t)lo | (uint64_t)(hi & 0xffff) << 32;

	/* 4.5.9: multicast table cleared; receive control with the queue
	 * still off. The Net interface has no address filter to configure,
	 * so the port takes every frame (UPE, MPE, BAM); the FCS is stripped,
	 * so a frame's length is the one the Net client sees. */
	for (uint32_t i = 0; i < MTA_WORDS; i++)
		wr(regs, MTA + 4 * i, 0);
	wr(regs, RCTL, RCTL_UPE | RCTL_MPE | RCTL_BAM | RCTL_SECRC);
	/* 4.5.10: transmit control, padding short frames; enabled later. */
	wr(regs, TCTL, TCTL_PSP | TCTL_CT | TCTL_COLD);
	return 0;
}

static void enable(volatile uint8_t *regs)
{
	wr(regs, RCTL, rd(regs, RCTL) | RCTL_EN);
	wr(regs, TCTL, rd(regs, TCTL) | TCTL_EN);
}

static bool link_up(volatile uint8_t *regs)
{
	return rd(regs, STATUS) & STATUS_LU;
}

static const struct intel_chip igb = {
	.name = "igb",
	.device = "igb0",
	.link_bit = "STATUS.LU",
	.queues = {.rx_base = RX_QUEUES,
		   .tx_base = TX_QUEUES,
		   .srrctl = SRRCTL,
		   .srrctl_drop_en = SRRCTL_DROP_EN},
	.regs_end = TX_QUEUES + INTEL_QUEUE_STRIDE,
	.reset = reset,
	.enable = enable,
	.link_up = link_up,
};

long igb_start(void)
{
	return intel_net_start(&igb);
}
