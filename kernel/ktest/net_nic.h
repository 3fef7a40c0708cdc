/*
 * The NIC ktests kernel/ktest/net.c runs on any PCI network driver through
 * netclient: verified traffic with bad batches and faked malformed
 * completions, a crash under traffic recovered by the shadow, and a link
 * that never comes up. A NIC names its driver, its shadow and how to play
 * a broken device on its receive ring (kernel/ktest/igb.c is the second).
 */
#ifndef KTEST_NET_NIC_H
#define KTEST_NET_NIC_H

#include <dev/pci.h>
#include <ktest/ktest.h>
#include <stdbool.h>

struct net_nic {
	const char *pci;	  /* the function its driver is granted: "net0" */
	const char *driver;	  /* its image, "virtio_net" */
	const char *shadow;	  /* its shadow's image, "net_shadow" */
	long which, which_shadow; /* netclient's NetcDriver for each */
	/* Write malformed completions for posted receive buffers while no
	 * frame is in flight: false if no buffer is posted. The driver must
	 * then count fake_errors RX errors and fake_drops drops. */
	bool (*fake_bad_completions)(void);
	long fake_errors, fake_drops;
	/* Whether the function reads as reset (after its driver died). */
	bool (*was_reset)(struct pci_func *f);
	long rogue_bar, rogue_config; /* rogue's cases refused on it, or 0 */
	/* Whether its QEMU model drops a frame that finds no free receive
	 * buffer (igb: the RXO cause, hw/net/igb_core.c) rather than holding
	 * it as virtio-net does: then a frame from outside can be lost. */
	bool rx_drops_when_full;
};

/* ktest bodies, each run counted (frames, heap, RRefs back to start). The
 * MAC must be 52:54:00:12:34:56 and the netdev loop frames back; link down
 * expects the link off before the guest ran. */
void net_nic_traffic(struct ktest_ctx *t, const struct net_nic *n);
void net_nic_crash(struct ktest_ctx *t, const struct net_nic *n);
void net_nic_link_down(struct ktest_ctx *t, const struct net_nic *n);
/* Receive the NET_RX_PKTGEN_FRAMES frames Linux's pktgen sends on a NIC
 * whose netdev is a TCP socket to the Linux guest (ci/groups/netrx.py; its
 * NIC's MAC NET_RX_PKTGEN_SRC_MAC is 52:54:00:12:34:57, first byte in bits
 * 7:0), each verified, in order, none lost unless rx_drops_when_full. */
#define NET_RX_PKTGEN_FRAMES  1000
#define NET_RX_PKTGEN_SRC_MAC 0x573412005452L
#define NET_RX_PKTGEN_MS      240000
void net_nic_rx_pktgen(struct ktest_ctx *t, const struct net_nic *n);

#endif
