/*
 * Stopping a PCI function's DMA before the memory it may write is reused
 * (docs/drivers.md "Quiescing"). Two steps, because the first must be
 * possible anywhere (domain_fail runs in trap handlers and under locks) and
 * the second may take seconds:
 *
 *   pci_stop          Bus Master Enable = 0 (PCI 3.0, 6.2.2: the function
 *                     may issue no memory request), and for NVMe CC.EN = 0
 *                     (NVMe 2.0, 3.1.4.5 and 3.7.2: a controller reset,
 *                     which ends every command in flight); for virtio,
 *                     device_status = 0 (virtio 1.1, 2.1.2 and 4.1.4.3.1: a
 *                     device reset, after which it uses no queue); for the
 *                     82576 (igb) and the 82599 (ixgbe), CTRL.RST = 1
 *                     (82576 datasheet 8.2.1, 82599 8.2.3.1.1: a global
 *                     reset, which disables every queue).
 *   pci_wait_stopped  NVMe: CC.EN reads back 0, then CSTS.RDY reads 0
 *                     (3.1.4.6) within CAP.TO (3.1.4.1, in 500 ms units);
 *                     virtio: device_status reads 0 (4.1.4.3.2: the reset
 *                     is done) within VIRTIO_RESET_NS; Intel: CTRL.RST
 *                     reads 0 (it self-clears when the reset is done)
 *                     within INTEL_RESET_NS; every function: BME
 *                     reads back 0.
 */
#include <core/log.h>
#include <core/sched.h>
#include <core/time.h>
#include <dev/pci.h>
#include <lib/fmt.h>

/* NVMe controller registers (NVMe Base Spec 2.0, 3.1.4, figure 33). */
#define NVME_CAP_LO	0x00
#define NVME_CC		0x14
#define NVME_CSTS	0x1c
#define NVME_CC_EN	(1u << 0)
#define NVME_CSTS_RDY	(1u << 0)
#define NVME_CAP_TO(x)	(((x) >> 24) & 0xff) /* CAP bits 31:24 */
#define NVME_TO_UNIT	500000000UL	     /* ns */
#define POLL_NS		1000000UL
#define VIRTIO_STATUS	0x14	     /* device_status in the common configuration */
#define VIRTIO_RESET_NS 1000000000UL /* a reset QEMU finishes at once; a second is broken */
#define INTEL_CTRL	0x00	     /* Device Control: 82576 datasheet 8.2.1, 82599 8.2.3.1.1 */
#define INTEL_CTRL_RST	(1u << 26)
#define INTEL_RESET_NS	100000000UL /* RST clears within microseconds; 100 ms is broken */

void pci_stop(struct pci_func *f)
{
	/* One write: bus mastering off and, for a function whose registers
	 * the kernel must reach to stop it, memory decode on (firmware leaves
	 * it on; without it the CC or device_status write below would go
	 * nowhere). The status half is write-one-to-clear: written as 0. */
	uint32_t cmd = (f->cfg[PCI_COMMAND / 4] & 0xffff) & ~PCI_CMD_MASTER;
	f->cfg[PCI_COMMAND / 4] =
		f->regs || f->virtio_common || f->intel_regs ? cmd | PCI_CMD_MEM : cmd;
	if (f->virtio_common)
		f->virtio_common[VIRTIO_STATUS] = 0;
	if (f->intel_regs) {
		uint32_t ctrl = f->intel_regs[INTEL_CTRL / 4];
		if (ctrl != 0xffffffffu)
			f->intel_regs[INTEL_CTRL / 4] = ctrl | INTEL_CTRL_RST;
	}
	if (f->regs) {
		uint32_t cc = f->regs[NVME_CC / 4];
		if (cc != 0xffffffffu && (cc & NVME_CC_EN))
			f->regs[NVME_CC / 4] = cc & ~NVME_CC_EN;
	}
}

bool pci_wait_stopped(struct pci_func *f, char *why, uint64_t len)
{
	pci_stop(f); /* again: the holder may have raced the first one */
	if (pci_master(f)) {
		fmt_snprintf(why, len, "Bus Master Enable reads 1 after it was cleared");
		return false;
	}
	if (f->virtio_common) {
		uint64_t deadline = time_ns() + VIRTIO_RESET_NS;
		while (f->virtio_common[VIRTIO_STATUS] != 0) {
			if (time_ns() >= deadline) {
				fmt_snprintf(why, len,
					     "virtio device_status still %#x 1 s after a reset",
					     f->virtio_common[VIRTIO_STATUS]);
				return false;
			}
			thread_sleep_ns(POLL_NS);
		}
		return true;
	}
	if (f->intel_regs) {
		uint64_t deadline = time_ns() + INTEL_RESET_NS;
		uint32_t ctrl;
		while ((ctrl = f->intel_regs[INTEL_CTRL / 4]) & INTEL_CTRL_RST) {
			if (ctrl == 0xffffffffu) {
				fmt_snprintf(why, len, "CTRL reads all ones (the device is gone?)");
				return false;
			}
			if (time_ns() >= deadline) {
				fmt_snprintf(why, len, "CTRL.RST still 1 %lu ms after a reset",
					     INTEL_RESET_NS / 1000000);
				return false;
			}
			thread_sleep_ns(POLL_NS);
		}
		return true;
	}
	if (!f->regs)
		return true;
	if (f->regs[NVME_CC / 4] & NVME_CC_EN) { /* all ones included: gone */
		fmt_snprintf(why, len, "CC.EN reads 1 after it was cleared");
		return false;
	}
	uint32_t cap = f->regs[NVME_CAP_LO / 4];
	/* At least one unit: a CAP.TO of 0 is a broken controller, not an
	 * instant one. */
	uint64_t to = NVME_CAP_TO(cap) ? NVME_CAP_TO(cap) : 1;
	uint64_t deadline = time_ns() + to * NVME_TO_UNIT;
	for (;;) {
		uint32_t csts = f->regs[NVME_CSTS / 4];
		if (csts == 0xffffffffu) {
			fmt_snprintf(why, len, "CSTS reads all ones (the controller is gone?)");
			return false;
		}
		if (!(csts & NVME_CSTS_RDY))
			return true;
		if (time_ns() >= deadline) {
			fmt_snprintf(why, len, "CSTS.RDY still 1 %lu ms after CC.EN = 0 (CAP.TO)",
				     to * NVME_TO_UNIT / 1000000);
			return false;
		}
		thread_sleep_ns(POLL_NS);
	}
}
