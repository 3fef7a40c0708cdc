/*
 * The Net interface (domains/idl/net.idl) served on the Intel rings
 * (intel_ring.h): batches, polling, one tail write per ring per batch.
 * A chip driver (drivers/net/igb) gives its queue map and its reset, link
 * and start-up steps; everything else is here, so the 82599 adds only its
 * register map and an init file.
 */
#ifndef DRIVERS_NET_INTEL_NET_H
#define DRIVERS_NET_INTEL_NET_H

#include <net/intel/intel_ring.h>

struct intel_chip {
	const char *name;     /* log prefix and image, "igb" */
	const char *device;   /* the PCI function the kernel grants, "igb0" */
	const char *link_bit; /* the register bit link() reads, for the log: "STATUS.LU" */
	struct intel_queue_map queues;
	uint32_t regs_end; /* one past the last BAR 0 byte the driver touches */
	/* Reset the device and set up everything but the rings (interrupts
	 * masked, link, MAC filter, receive/transmit control but not yet
	 * enabled); *mac set, its first byte in bits 7:0. 0 or -error, logged. */
	long (*reset)(volatile uint8_t *regs, uint64_t *mac);
	/* Enable receive and transmit once queue 0's rings are programmed. */
	void (*enable)(volatile uint8_t *regs);
	bool (*link_up)(volatile uint8_t *regs);
};

/* Start a chip's driver: map BAR 0, reset, lay out queue 0's rings,
 * enable bus mastering; a thread gives the link a second and logs if it
 * stays down. 0 or -error (logged). One chip per domain. */
long intel_net_start(const struct intel_chip *chip);

/* The Net methods on the started chip's rings, for Net_export or a direct
 * call (bench=net's in-domain image, domains/test/netbench/igb_bench.c). */
extern const struct Net_impl intel_net_impl;

#endif
