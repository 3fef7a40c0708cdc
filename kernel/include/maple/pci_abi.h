/*
 * What SYS_DEVICE_INFO tells a driver about the PCI function it holds
 * (maple/abi.h, syscalls 24-29; docs/drivers.md "PCI"). Shared by the kernel
 * and the domain SDK; fixed layout, checked below.
 */
#ifndef MAPLE_PCI_ABI_H
#define MAPLE_PCI_ABI_H

#include <stdint.h>

#define MAPLE_PCI_BARS 6

/* maple_pci_info.bar_flags[i] (0: BAR i is not implemented). */
#define MAPLE_BAR_MEM	   (1u << 0) /* a memory BAR: SYS_DEVICE_BAR maps it */
#define MAPLE_BAR_IO	   (1u << 1) /* an I/O-port BAR: never mapped */
#define MAPLE_BAR_64	   (1u << 2) /* 64-bit memory BAR; BAR i+1 is its upper half */
#define MAPLE_BAR_PREFETCH (1u << 3)
#define MAPLE_BAR_UPPER	   (1u << 4) /* the upper half of BAR i-1 */
#define MAPLE_BAR_BAD	   (1u << 5) /* did not size or decode sanely: never mapped (logged) */

struct maple_pci_info {
	uint16_t vendor;
	uint16_t device;
	uint8_t class_code; /* base class, e.g. 0x01 mass storage */
	uint8_t subclass;   /* e.g. 0x08 NVM */
	uint8_t prog_if;    /* e.g. 0x02 NVMe */
	uint8_t revision;
	uint8_t bus, dev, fn;
	uint8_t msi_cap;  /* config-space offset of the MSI capability, 0 if none */
	uint8_t msix_cap; /* ... of MSI-X */
	uint8_t pcie_cap; /* ... of the PCI Express capability */
	uint16_t reserved;
	uint32_t bar_flags[MAPLE_PCI_BARS]; /* MAPLE_BAR_* */
	uint64_t bar_size[MAPLE_PCI_BARS];  /* bytes; 0 if not implemented */
};

_Static_assert(__builtin_offsetof(struct maple_pci_info, vendor) == 0, "pci_abi");
_Static_assert(__builtin_offsetof(struct maple_pci_info, device) == 2, "pci_abi");
_Static_assert(__builtin_offsetof(struct maple_pci_info, class_code) == 4, "pci_abi");
_Static_assert(__builtin_offsetof(struct maple_pci_info, subclass) == 5, "pci_abi");
_Static_assert(__builtin_offsetof(struct maple_pci_info, prog_if) == 6, "pci_abi");
_Static_assert(__builtin_offsetof(struct maple_pci_info, revision) == 7, "pci_abi");
_Static_assert(__builtin_offsetof(struct maple_pci_info, bus) == 8, "pci_abi");
_Static_assert(__builtin_offsetof(struct maple_pci_info, dev) == 9, "pci_abi");
_Static_assert(__builtin_offsetof(struct maple_pci_info, fn) == 10, "pci_abi");
_Static_assert(__builtin_offsetof(struct maple_pci_info, msi_cap) == 11, "pci_abi");
_Static_assert(__builtin_offsetof(struct maple_pci_info, msix_cap) == 12, "pci_abi");
_Static_assert(__builtin_offsetof(struct maple_pci_info, pcie_cap) == 13, "pci_abi");
_Static_assert(__builtin_offsetof(struct maple_pci_info, bar_flags) == 16, "pci_abi");
_Static_assert(__builtin_offsetof(struct maple_pci_info, bar_size) == 40, "pci_abi");
_Static_assert(sizeof(struct maple_pci_info) == 88, "pci_abi");

#endif
