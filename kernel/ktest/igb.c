/*
 * In-guest tests of igb, the Intel 82576 driver (drivers/net/igb), on
 * QEMU 10's `igb` model (ci/groups/igb.py attaches one whose netdev loops
 * frames back): the NIC ktests of kernel/ktest/net.c (verified traffic,
 * bad batches, malformed receive descriptors, a crash under traffic with
 * recovery through igb_shadow, a link that never comes up), with the
 * Intel chips' broken receive ring (ktest/intel_nic.h) on igb's queue 0.
 */
#include <core/sched.h>
#include <dev/pci.h>
#include <idl/netclient_methods.h>
#include <ktest/intel_nic.h>
#include <ktest/ktest.h>
#include <ktest/net_nic.h>

/* 82576 datasheet 8.10 (queue 0's receive registers), 8.10.1 RCTL. */
#define RX_QUEUE0 0xc000
#define RCTL	  0x0100
#define RCTL_EN	  (1u << 1)

static bool have_igb0(struct ktest_ctx *t)
{
	if (pci_find("igb0"))
		return true;
	ktest_skip(t, "no 82576 function (igb0); the igb and netrx groups (ci/groups) attach one "
		      "on QEMU 10");
	return false;
}

static bool igb_fake_bad_completions(void)
{
	return intel_fake_bad_completions("igb0", RX_QUEUE0);
}

/* After the driver died: the global reset cleared RCTL (8.10.1: EN is 0
 * after a reset), so the device receives into no ring. */
static bool igb_was_reset(struct pci_func *f)
{
	return !(f->intel_regs[RCTL / 4] & RCTL_EN);
}

static const struct net_nic igb_nic = {
	.pci = "igb0",
	.driver = "igb",
	.shadow = "igb_shadow",
	.which = NETC_IGB,
	.which_shadow = NETC_IGB_SHADOW,
	.fake_bad_completions = igb_fake_bad_completions,
	.fake_errors = 0,
	.fake_drops = INTEL_FAKES,
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
