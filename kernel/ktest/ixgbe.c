/*
 * In-guest tests of ixgbe, the Intel 82599 driver (drivers/net/ixgbe), on
 * the 82599 model of the project's QEMU (ci/groups/ixgbe.py attaches one
 * whose netdev loops frames back): the NIC ktests of kernel/ktest/net.c
 * (verified traffic, bad batches, malformed receive descriptors, a crash
 * under traffic with recovery through ixgbe_shadow, a link that never comes
 * up), with the Intel chips' broken receive ring (ktest/intel_nic.h) on
 * ixgbe's queue 0.
 */
#include <core/sched.h>
#include <dev/pci.h>
#include <idl/netclient_methods.h>
#include <ktest/intel_nic.h>
#include <ktest/ktest.h>
#include <ktest/net_nic.h>

/* 82599 datasheet 8.2.3.8: queue 0's receive registers; 8.2.3.8.10 RXCTRL. */
#define RX_QUEUE0   0x1000
#define RXCTRL	    0x3000
#define RXCTRL_RXEN (1u << 0)

static bool have_ixgbe0(struct ktest_ctx *t)
{
	if (pci_find("ixgbe0"))
		return true;
	ktest_skip(t, "no 82599 function (ixgbe0); ci/groups/ixgbe.py attaches one on the "
		      "model QEMU");
	return false;
}

static bool ixgbe_fake_bad_completions(void)
{
	return intel_fake_bad_completions("ixgbe0", RX_QUEUE0);
}

/* After the driver died: the global reset cleared RXCTRL (8.2.3.8.10: RXEN
 * is 0 after a reset), so the device receives into no ring. */
static bool ixgbe_was_reset(struct pci_func *f)
{
	return !(f->intel_regs[RXCTRL / 4] & RXCTRL_RXEN);
}

static const struct net_nic ixgbe_nic = {
	.pci = "ixgbe0",
	.driver = "ixgbe",
	.shadow = "ixgbe_shadow",
	.which = NETC_IXGBE,
	.which_shadow = NETC_IXGBE_SHADOW,
	.fake_bad_completions = ixgbe_fake_bad_completions,
	.fake_errors = 0,
	.fake_drops = INTEL_FAKES,
	.was_reset = ixgbe_was_reset,
};

KTEST(ixgbe_verified_traffic)
{
	if (have_ixgbe0(t))
		net_nic_traffic(t, &ixgbe_nic);
}

KTEST(ixgbe_crash_under_traffic)
{
	if (have_ixgbe0(t))
		net_nic_crash(t, &ixgbe_nic);
}

/* Run only in ci/groups/ixgbe.py's link-down boot (QMP `set_link` off
 * before the guest ran). */
KTEST(ixgbe_link_down)
{
	if (have_ixgbe0(t))
		net_nic_link_down(t, &ixgbe_nic);
}
