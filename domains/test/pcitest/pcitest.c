/*
 * pcitest: the smallest NVMe driver that makes a controller master the bus
 * (pcitest.h), so the kernel's tests can check what the kernel does to it
 * when the driver goes away: bus mastering off and the controller disabled
 * before the driver's DMA memory is freed. Register offsets and layouts are
 * from the NVMe Base Specification 2.0; the real driver is helper nvme's
 * drivers/block/nvme.
 */
#include <test/pcitest/pcitest.h>

#include <lib/string.h>
#include <sdk/dom.h>
#include <sdk/syscall.h>

/* Controller registers (NVMe 2.0, 3.1.4, figure 33). */
#define CAP	       0x00
#define CC	       0x14
#define CSTS	       0x1c
#define AQA	       0x24
#define ASQ	       0x28
#define ACQ	       0x30
#define SQ0TDBL	       0x1000 /* admin SQ tail doorbell (3.1.4.25, stride 4 << CAP.DSTRD) */
#define CC_EN	       (1u << 0)
#define CC_IOSQES      (6u << 16) /* 64-byte submission entries (3.1.4.5) */
#define CC_IOCQES      (4u << 20) /* 16-byte completion entries */
#define CSTS_RDY       (1u << 0)
#define QUEUE_SLOTS    64
#define ADMIN_IDENTIFY 0x06 /* 5.17 */
#define CNS_CONTROLLER 0x01

static volatile uint32_t *regs;
static uint8_t *dma;
static char heap_word[8];
static struct maple_pci_info info;

static uint64_t reg64(unsigned off)
{
	return regs[off / 4] | (uint64_t)regs[off / 4 + 1] << 32;
}

static void set_reg64(unsigned off, uint64_t v)
{
	regs[off / 4] = (uint32_t)v;
	regs[off / 4 + 1] = (uint32_t)(v >> 32);
}

/* Wait for CSTS.RDY to read `ready`, at most CAP.TO (500 ms units, 3.1.4.1). */
static bool wait_ready(bool ready)
{
	uint64_t to = (reg64(CAP) >> 24 & 0xff) ?: 1;
	uint64_t deadline = maple_clock_ns() + to * 500000000ULL;
	while (!!(regs[CSTS / 4] & CSTS_RDY) != ready)
		if (maple_clock_ns() > deadline)
			return false;
		else
			maple_sleep_ns(1000000);
	return true;
}

static long start(void)
{
	long va = maple_device_bar("nvme0", 0);
	if (va < 0)
		return va;
	regs = (volatile uint32_t *)va;
	long d = maple_dma_alloc(PCITEST_DMA_PAGES * 4096);
	if (d < 0)
		return d;
	long bus = maple_dma_bus((void *)d);
	if (bus < 0)
		return bus;
	/* The kernel stopped the controller before it granted it (3.5.1 step 1). */
	if (regs[CC / 4] & CC_EN || !wait_ready(false))
		return -MAPLE_EBUSY;
	regs[AQA / 4] = (QUEUE_SLOTS - 1) << 16 | (QUEUE_SLOTS - 1); /* 3.1.4.8 */
	set_reg64(ASQ, (uint64_t)bus);
	set_reg64(ACQ, (uint64_t)bus + 4096);
	long rc = maple_device_busmaster("nvme0", 1);
	if (rc < 0)
		return rc;
	regs[CC / 4] = CC_IOSQES | CC_IOCQES | CC_EN;
	if (!wait_ready(true))
		return -MAPLE_ETIMEDOUT;
	/* Identify Controller into the third page (5.17; SQ entry: figure 88). */
	uint32_t *sqe = (uint32_t *)d;
	sqe[0] = ADMIN_IDENTIFY | 1u << 16;				  /* opcode, command id 1 */
	*(volatile uint64_t *)&sqe[6] = (uint64_t)bus + PCITEST_IDENTIFY; /* PRP1 */
	sqe[10] = CNS_CONTROLLER;
	regs[SQ0TDBL / 4] = 1;
	volatile uint32_t *cqe = (volatile uint32_t *)(d + 4096);
	uint64_t deadline = maple_clock_ns() + 5000000000ULL;
	while (!(cqe[3] & (1u << 16))) /* the phase tag of the first pass (4.6) */
		if (maple_clock_ns() > deadline)
			return -MAPLE_ETIMEDOUT;
	dma = (uint8_t *)d;
	return bus;
}

static long dma_addr(void)
{
	return (long)dma;
}

static long name_syscall(long nr, const char *name, long arg)
{
	return syscall3(nr, (long)name, (long)strlen(name), arg);
}

static long sys(long op, long arg)
{
	switch (op) {
	case PCITEST_BAR:
		return name_syscall(SYS_DEVICE_BAR, "nvme0", arg);
	case PCITEST_BAR_AHCI:
		return name_syscall(SYS_DEVICE_BAR, "ahci0", arg);
	case PCITEST_BAR_SIZE:
		return name_syscall(SYS_DEVICE_BAR_SIZE, "nvme0", arg);
	case PCITEST_DMA_ALLOC:
		return syscall1(SYS_DMA_ALLOC, arg);
	case PCITEST_DMA_BUS:
		return syscall1(SYS_DMA_BUS, arg ? arg : (long)heap_word);
	case PCITEST_INFO: {
		long rc = name_syscall(SYS_DEVICE_INFO, "nvme0", arg ? arg : (long)&info);
		return rc < 0 || arg ? rc : (long)info.vendor << 16 | info.device;
	}
	case PCITEST_BUSMASTER:
		return name_syscall(SYS_DEVICE_BUSMASTER, "nvme0", arg);
	case PCITEST_NAME_FAULT:
		return syscall3(SYS_DEVICE_BAR, arg, 5, 0);
	}
	return -MAPLE_EINVAL;
}

long domain_main(long arg)
{
	(void)arg;
	const uint64_t methods[] = {
		[PciTest_start_METHOD] = MAPLE_METHOD(start),
		[PciTest_dma_addr_METHOD] = MAPLE_METHOD(dma_addr),
		[PciTest_sys_METHOD] = MAPLE_METHOD(sys),
	};
	/* Indexed by the numbers idlc generated: a method missing here fails the build. */
	_Static_assert(DOM_ARRAY_LEN(methods) == PciTest_METHODS, "PciTest: every method exported");
	return maple_export(methods, DOM_ARRAY_LEN(methods));
}
