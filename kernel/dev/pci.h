/*
 * PCI functions found through ECAM at boot (docs/drivers.md "PCI"): their
 * parsed configuration (dev/pci_cfg.h), a name by class for the manifest
 * (`nvme0` is the first NVMe controller, class 01:08:02; `net0` the first
 * modern virtio network function, 1af4:1041; `igb0` the first Intel
 * 82576, 8086:10c9; `ixgbe0` the first Intel 82599, 8086:10fb), and the grant that
 * says which driver domain holds each (dev/device.h).
 */
#ifndef DEV_PCI_H
#define DEV_PCI_H

#include <dev/device.h>
#include <dev/pci_cfg.h>
#include <stdbool.h>
#include <stdint.h>

#define PCI_MAX_FUNCS 64
#define PCI_NAME_MAX  16

struct pci_func {
	uint16_t segment;
	uint8_t bus, dev, fn;
	volatile uint32_t *cfg; /* its 4 KiB of ECAM, mapped uncached */
	struct pci_func_cfg info;
	char name[PCI_NAME_MAX]; /* "nvme0"; "" for a class no driver names */
	bool nvme;
	volatile uint32_t *regs; /* NVMe: its BAR 0 registers, for quiescing; else NULL */
	/* A modern virtio function (`net0`): its common configuration
	 * structure (virtio 1.1, 4.1.4.3), for the reset that quiesces it;
	 * else NULL. */
	volatile uint8_t *virtio_common;
	/* An Intel NIC on the Intel ring core, an 82576 (`igb0`) or an 82599
	 * (`ixgbe0`): the first 64 KiB of its BAR 0 registers, for the
	 * CTRL.RST that quiesces it (82576 datasheet 8.2.1, 82599 datasheet
	 * 8.2.3.1.1: the same register and bit); else NULL. */
	bool intel;
	volatile uint32_t *intel_regs;
	/* Under devices_lock (dev/device.c): */
	struct device_grant grant;
	uint64_t bar_va[MAPLE_PCI_BARS]; /* where the holder has each BAR mapped; 0: not */
	bool stuck;    /* it did not stop when told: granted to nobody until it does */
	bool stopping; /* a grant is waiting for it to stop (dev/device.c) */
};

/* Enumerate every segment MCFG lists, logging one line per function. */
void pci_init(void);
/* The function named `name`, or NULL. */
struct pci_func *pci_find(const char *name);
/* Functions found, and the i-th (i < pci_count()). */
uint32_t pci_count(void);
struct pci_func *pci_get(uint32_t i);
/* "00:03.0 1b36:0010 class 01:08:02 rev 02 nvme0: bar0 mem64 0xfebd0000 16 KiB; caps msix pcie pm".
 */
void pci_describe(const struct pci_func *f, char *buf, uint64_t len);
/* Its command register with Bus Master Enable set or clear. */
void pci_set_master(struct pci_func *f, bool on);
bool pci_master(const struct pci_func *f);

/*
 * Quiescing (dev/pci_quiesce.c). pci_stop clears Bus Master Enable and, for
 * an NVMe controller, writes CC.EN = 0 (for virtio, device_status = 0): two
 * posted writes, no waiting, safe under any lock. pci_wait_stopped then
 * waits, sleeping, for the function to say it stopped (NVMe: CSTS.RDY = 0,
 * at most CAP.TO; virtio: device_status reads 0): true, or false with why
 * set.
 */
void pci_stop(struct pci_func *f);
bool pci_wait_stopped(struct pci_func *f, char *why, uint64_t len);

#endif
