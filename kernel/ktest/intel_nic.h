/*
 * What the NIC ktests (ktest/net_nic.h) do alike on both Intel chips of the
 * ring core (drivers/net/intel): play a broken device on queue 0's receive
 * ring. kernel/ktest/igb.c and kernel/ktest/ixgbe.c give where the chip's
 * queue 0 registers are.
 */
#ifndef KTEST_INTEL_NIC_H
#define KTEST_INTEL_NIC_H

#include <stdbool.h>
#include <stdint.h>

/* Malformed completions written by intel_fake_bad_completions: all
 * dropped, none an RX error. */
#define INTEL_FAKES 6

/*
 * On PCI function `pci` (an Intel NIC the kernel mapped, pci_func
 * intel_regs) whose queue 0 receive block is at rx_block, while no frame
 * is in flight: write back the next six posted descriptors (from RDH) as,
 * in order, a frame of length 0, one with the RX error bit set, one of
 * 1515 bytes (over the MTU), one of 13 (shorter than an Ethernet header),
 * and a frame of two buffers whose first lacks EOP and whose second is
 * otherwise well formed. The driver must drop all six (NET_RX_DROPS 6, the
 * continuation with its frame; an RX ring names no buffer by index, so
 * none is an RX error) and post their buffers again. False if fewer than
 * six are posted.
 */
bool intel_fake_bad_completions(const char *pci, uint32_t rx_block);

#endif
