/*
 * rogue's attacks on PCI functions and DMA memory it was not granted
 * (numbers 120-139, run through run(case, target); docs/drivers.md). Each
 * returns the raw syscall's result, so the tests see the kernel's exact
 * answer; rogue holds no device. Plain numbers, so kernel tests can include
 * it too.
 */
#ifndef DOMAINS_ROGUE_PCI_CASES_H
#define DOMAINS_ROGUE_PCI_CASES_H

enum rogue_pci_case {
	ROGUE_PCI_FIRST = 120,
	ROGUE_PCI_MAP_BAR = 120,   /* SYS_DEVICE_BAR("nvme0", 0): -MAPLE_EPERM */
	ROGUE_PCI_BUSMASTER = 121, /* SYS_DEVICE_BUSMASTER("nvme0", 1): -MAPLE_EPERM */
	/* SYS_DMA_BUS(target), another domain's DMA memory (0: the kernel
	 * image, ROGUE_KERNEL_VA): -MAPLE_EFAULT */
	ROGUE_PCI_DMA_BUS = 122,
	ROGUE_PCI_DMA_BUS_HEAP =
		123,		  /* SYS_DMA_BUS of its own heap, not DMA memory: -MAPLE_EFAULT */
	ROGUE_PCI_MAP_BAR6 = 124, /* SYS_DEVICE_BAR("nvme0", 6): -MAPLE_EPERM before EINVAL */
	ROGUE_PCI_NO_SUCH = 125,  /* SYS_DEVICE_BAR("nvme9", 0): -MAPLE_ESRCH */
	/* SYS_DEVICE_BAR("net0", 4) and SYS_DEVICE_CONFIG("net0", 0) while
	 * virtio_net holds net0 (kernel/ktest/net.c): -MAPLE_EPERM each */
	ROGUE_PCI_NET_BAR = 126,
	ROGUE_PCI_NET_CONFIG = 127,
	ROGUE_PCI_END
};

long rogue_pci_case(long number, unsigned long target);

#endif
