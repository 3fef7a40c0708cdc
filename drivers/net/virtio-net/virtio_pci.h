/*
 * The virtio PCI transport (virtio 1.1, 4.1), modern interface only: find
 * the register blocks through the function's vendor capabilities, reset,
 * negotiate features, set up a split virtqueue and notify it. The device
 * is a PCI function the kernel granted this domain (`net0`); the config
 * space is read through SYS_DEVICE_CONFIG and BARs are mapped through
 * SYS_DEVICE_BAR.
 */
#ifndef DRIVERS_NET_VIRTIO_PCI_H
#define DRIVERS_NET_VIRTIO_PCI_H

#include <net/virtio-net/virtio.h>
#include <stdbool.h>

struct virtio_pci {
	const char *name; /* the PCI function, for SYS_DEVICE_* and the log */
	volatile struct virtio_pci_common_cfg *common;
	volatile uint8_t *notify; /* the notification area */
	uint64_t notify_len;
	uint32_t notify_mult;	  /* notify_off_multiplier */
	volatile uint8_t *device; /* the device-specific configuration */
	uint64_t device_len;
};

/* Find and map the common, notify and device-specific blocks (4.1.4): 0,
 * or -error with one log line saying which is missing or bad and why. */
long virtio_pci_find(struct virtio_pci *v, const char *name);

/* Reset the device (4.1.4.3.2: write 0, wait until device_status reads
 * 0): 0, or -MAPLE_ETIMEDOUT (logged) if it does not within a second. */
long virtio_pci_reset(struct virtio_pci *v);

/*
 * The initialization sequence's first half (3.1.1 steps 1-6): reset,
 * ACKNOWLEDGE, DRIVER, read the device's features, accept those in
 * `want`, FEATURES_OK, and check that the device kept FEATURES_OK. The
 * device must offer every bit of `need`. The accepted set, or -error
 * (logged; the device is left FAILED).
 */
long virtio_pci_negotiate(struct virtio_pci *v, uint64_t want, uint64_t need, uint64_t *got);

/* The largest size queue q may have (4.1.4.3: queue_size), 0 if it does
 * not exist. */
uint16_t virtio_pci_queue_max(struct virtio_pci *v, uint16_t q);

/*
 * Set up split virtqueue q (4.1.5.1.3) with `size` entries (a power of two
 * at most the maximum) at the given bus addresses, no interrupt vector,
 * and enable it. Its notification address (4.1.4.4) goes to *notify. 0 or
 * -MAPLE_EINVAL (logged) if the notify offset falls outside the area.
 */
long virtio_pci_queue(struct virtio_pci *v, uint16_t q, uint16_t size, uint64_t desc,
		      uint64_t avail, uint64_t used, volatile uint16_t **notify);

/* 3.1.1 step 8: DRIVER_OK, the device is live. */
void virtio_pci_driver_ok(struct virtio_pci *v);

/* Read `len` bytes of the device-specific configuration at off into buf,
 * consistently (4.1.4.3.1: config_generation unchanged across the read). */
void virtio_pci_read_device(struct virtio_pci *v, uint32_t off, void *buf, uint32_t len);

#endif
