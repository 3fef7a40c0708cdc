/*
 * In-guest tests of igb, the Intel 82576 driver (drivers/net/igb), on
 * QEMU 10's `igb` model (ci/groups/igb.py attaches one whose netdev loops
 * frames back): the NIC ktests of kernel/ktest/net.c (verified traffic,
 * bad batches, malformed receive descriptors, a crash under traffic with
 * recovery through igb_shadow, a link that never comes up), with igb's
 * way of playing a broken device on its receive ring.
 */
#include <core/sched.h>
#include <dev/pci.h>
#include <idl/netclient_methods.h>
#include <ktest/ktest.h>
#include <ktest/net_nic.h>
#include <mm/vm.h>

/* 82576 datasheet 8.10 (queue 0's receive registers), 8.10.1 RCTL. */
#define RDBAL0	0xc000
#define RDBAH0	0xc004
#define RDH0	0xc010
#define RDT0	0xc018
#define RCTL	0x0100
#define RCTL_EN (1u << 1)
#define RING	128 /* descriptors the driver lays out (INTEL_RING_SIZE) */
/* 7.1.5.2: the advanced receive write-back's status/error and length
 * dwords, and its bits. */
#define STAT_DD	 (1u << 0)
#define STAT_EOP (1u << 1)
#define ERR_RXE	 (1u << 29)

static bool have_igb0(struct ktest_ctx *t)
{
	if (pci_find("igb0"))
		return true;
	ktest_skip(t, "no 82576 function (igb0); the igb and netrx groups (ci/groups) attach one "
		      "on QEMU 10");
	return false;
}

static uint32_t reg(uint32_t off)
{
	return pci_find("igb0")->igb_regs[off / 4];
}

/*
 * Play a broken device on queue 0 while no frame is in flight: write back
 * the next six posted descriptors (from RDH) as, in order, a frame of
 * length 0, one with the RX error bit set, one of 1515 bytes (over the
 * MTU), one of 13 (shorter than an Ethernet header), and a frame of two
 * buffers whose first lacks EOP and whose second is otherwise well formed.
 * The driver must drop all six (NET_RX_DROPS 6, the continuation with its
 * frame; an RX ring names no buffer by index, so none is an RX error) and
 * post their buffers again. False if fewer than six are posted.
 */
#define FAKES 6
static bool igb_fake_bad_completions(void)
{
	uint64_t base = (uint64_t)reg(RDBAH0) << 32 | reg(RDBAL0);
	uint32_t head = reg(RDH0), tail = reg(RDT0);
	if ((tail - head) % RING < FAKES)
		return false;
	volatile uint32_t *desc = phys_to_virt(base);
	static const uint32_t status[FAKES] = {STAT_DD | STAT_EOP,
					       STAT_DD | STAT_EOP | ERR_RXE,
					       STAT_DD | STAT_EOP,
					       STAT_DD | STAT_EOP,
					       STAT_DD,
					       STAT_DD | STAT_EOP};
	static const uint32_t len[FAKES] = {0, 100, 1515, 13, 100, 100};
	for (uint32_t i = 0; i < FAKES; i++) {
		volatile uint32_t *d = desc + 4 * ((head + i) % RING);
		d[3] = len[i];
		__atomic_thread_fence(__ATOMIC_RELEASE);
		d[2] = status[i]; /* DD last: the driver reads it first */
	}
	return true;
}

/* After the driver died: the global reset cleared RCTL (8.10.1: EN is 0
 * after a reset), so the device receives into no ring. */
static bool igb_was_reset(struct pci_func *f)
{
	return !(f->igb_regs[RCTL / 4] & RCTL_EN);
}

static const struct net_nic igb_nic = {
	.pci = "igb0",
	.driver = "igb",
	.shadow = "igb_shadow",
	.which = NETC_IGB,
	.which_shadow = NETC_IGB_SHADOW,
	.fake_bad_completions = igb_fake_bad_completions,
	.fake_errors = 0,
	.fake_drops = FAKES,
	.was_reset = igb_was_reset,
	.rx_drops_when_full = true,
};

KTEST(igb_verified_traffic)
{
	if (have_igb0(t))
		net_nic_traffic(t, &igb_nic);
}

KTEST(igb_crash_under_traffic)
{
	if (have_igb0(t))
		net_nic_crash(t, &igb_nic);
}

/* Run only in ci/groups/netrx.py's boot on QEMU 10 (the frames of Linux's
 * pktgen through a TCP socket netdev). */
KTEST(igb_rx_from_pktgen)
{
	if (have_igb0(t))
		net_nic_rx_pktgen(t, &igb_nic);
}

/* Run only in ci/groups/igb.py's link-down boot (QMP `set_link` off
 * before the guest ran). */
KTEST(igb_link_down)
{
	if (have_igb0(t))
		net_nic_link_down(t, &igb_nic);
}
