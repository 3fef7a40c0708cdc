/*
 * pcitest's interface, for the PCI ktests (kernel/ktest/pci.c): the
 * operations of its sys(op, arg) method, each one raw syscall whose result
 * comes back unchanged, so the tests see the kernel's exact answer. Plain
 * numbers, so kernel tests can include it too.
 */
#ifndef DOMAINS_PCITEST_H
#define DOMAINS_PCITEST_H

/* Its methods (start, dma_addr, sys): domains/idl/pcitest.idl. */
#include <idl/pcitest_methods.h>

#define PCITEST_DMA_PAGES 3 /* admin SQ, admin CQ, the Identify page */
#define PCITEST_IDENTIFY  (2 * 4096)

enum pcitest_op {
	PCITEST_BAR = 0,	/* SYS_DEVICE_BAR("nvme0", arg) */
	PCITEST_BAR_AHCI = 1,	/* SYS_DEVICE_BAR("ahci0", arg) */
	PCITEST_BAR_SIZE = 2,	/* SYS_DEVICE_BAR_SIZE("nvme0", arg) */
	PCITEST_DMA_ALLOC = 3,	/* SYS_DMA_ALLOC(arg) */
	PCITEST_DMA_BUS = 4,	/* SYS_DMA_BUS(arg); 0: an address of its own heap */
	PCITEST_INFO = 5,	/* SYS_DEVICE_INFO("nvme0", arg); 0: its own buffer, and
				 * then vendor << 16 | device */
	PCITEST_BUSMASTER = 6,	/* SYS_DEVICE_BUSMASTER("nvme0", arg) */
	PCITEST_NAME_FAULT = 7, /* SYS_DEVICE_BAR(name = arg, len 5, bar 0) */
	PCITEST_OPS
};

#endif
