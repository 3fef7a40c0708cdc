/*
 * Parsing one PCI function's configuration space: its identity, its BARs
 * (sized by the standard probe) and its capability list. Portable: it reaches
 * the space only through struct pci_cfg, so the kernel gives it ECAM and the
 * host tests (kernel/test/test_pci.c) give it hostile spaces. Nothing in a
 * config space can make it loop, read outside the 4 KiB space or fail: every
 * oddity is reported through `problem` and that BAR or the rest of that list
 * is skipped.
 */
#ifndef DEV_PCI_CFG_H
#define DEV_PCI_CFG_H

#include <maple/pci_abi.h>
#include <stdbool.h>
#include <stdint.h>

/* Configuration header offsets and bits (PCI Local Bus Spec 3.0, 6.1-6.2,
 * figure 6-1; PCI-to-PCI Bridge Spec 1.2, 3.2 for type 1). */
#define PCI_VENDOR	   0x00
#define PCI_COMMAND	   0x04 /* 16 bits; the status register is the upper half */
#define PCI_CLASS_REV	   0x08
#define PCI_HEADER	   0x0c /* header type in bits 23:16 */
#define PCI_BAR0	   0x10
#define PCI_BUSES	   0x18 /* type 1: primary, secondary, subordinate bus */
#define PCI_CAP_PTR	   0x34
#define PCI_CMD_IO	   (1u << 0)
#define PCI_CMD_MEM	   (1u << 1)
#define PCI_CMD_MASTER	   (1u << 2)	    /* Bus Master Enable (6.2.2) */
#define PCI_STATUS_CAPS	   (1u << (16 + 4)) /* status bit 4: capabilities list (6.2.3) */
#define PCI_HDR_MULTIFUNC  0x80
#define PCI_CFG_SPACE_SIZE 4096 /* PCIe: ECAM gives each function 4 KiB */

#define PCI_CAP_MSI  0x05
#define PCI_CAP_PCIE 0x10
#define PCI_CAP_MSIX 0x11
#define PCI_MAX_CAPS 16

struct pci_cfg {
	/* Read or write the aligned 32-bit word at off (< PCI_CFG_SPACE_SIZE). */
	uint32_t (*read)(void *ctx, uint16_t off);
	void (*write)(void *ctx, uint16_t off, uint32_t value);
	/* One thing wrong with this function's space, a complete phrase. */
	void (*problem)(void *ctx, const char *what);
	void *ctx;
};

struct pci_cap {
	uint8_t id;
	uint8_t off;
};

struct pci_func_cfg {
	uint16_t vendor, device;
	uint8_t class_code, subclass, prog_if, revision;
	uint8_t header_type; /* without the multifunction bit */
	bool multifunction;
	uint8_t secondary_bus;		    /* type 1 (bridge) only */
	uint32_t bar_flags[MAPLE_PCI_BARS]; /* MAPLE_BAR_*; 0: not implemented */
	uint64_t bar_base[MAPLE_PCI_BARS];
	uint64_t bar_size[MAPLE_PCI_BARS];
	uint8_t ncaps;
	struct pci_cap caps[PCI_MAX_CAPS];
	uint8_t msi, msix, pcie; /* their offsets, 0 if absent */
	uint32_t problems;	 /* how many were reported */
};

/*
 * Read the function's header, size its BARs and walk its capabilities.
 * Returns false, touching nothing, when no function answers (vendor 0xffff).
 * The BAR probe writes all ones to each BAR and puts its value back, with
 * memory and I/O decode off around it (PCI 3.0, 6.2.5.1), so the function
 * never decodes a half-written address; the command register is restored.
 */
bool pci_cfg_parse(const struct pci_cfg *c, struct pci_func_cfg *out);

/* "msi", "msix", "pcie", "pm", ... for a capability id; NULL if unnamed. */
const char *pci_cap_name(uint8_t id);

#endif
