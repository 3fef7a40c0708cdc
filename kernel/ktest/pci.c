/*
 * In-guest tests of PCI functions and their grants (docs/drivers.md): the
 * NVMe controller QEMU gives every boot (ci/harness/qemu.py) is enumerated;
 * pcitest (domains/test/pcitest), which the manifest grants nvme0 and ahci0,
 * maps BAR 0, starts the controller with its admin queues in DMA memory and
 * runs Identify into it, and gets exact errors for every bad argument;
 * rogue, which holds nothing, is refused (rogue cases 120-125); and when
 * pcitest is destroyed the kernel has cleared Bus Master Enable and the
 * controller reads CSTS.RDY = 0 before any of pcitest's memory is freed
 * (seen from a domain observer at the start of its reclaim), its DMA frames
 * free right after. A controller that does not stop keeps its driver failed
 * with all of its memory. And the driver DMAs straight into RRef payloads:
 * each is physically contiguous up to its size class.
 */
#include <arch/x86/pte.h>
#include <dev/pci.h>
#include <domain/domain.h>
#include <domain/observer.h>
#include <ktest/counted.h>
#include <ktest/ktest.h>
#include <lib/string.h>
#include <mm/frame.h>
#include <mm/kmalloc.h>
#include <mm/vm.h>
#include <test/pcitest/pcitest.h>
#include <test/rogue/cases.h>
#include <test/rogue/pci_cases.h>
#include <xheap/rref.h>

#define RUN_WAIT_NS 60000000000ULL /* only stops a hang */
#define NVME_CC	    0x14
#define NVME_CSTS   0x1c
#define NVME_CC_EN  1u
#define NVME_RDY    1u
#define PATTERN	    0x5a

/* What the reclaim of pcitest found (the observer below). */
static struct {
	bool armed, seen;
	uint64_t dma_pa;
	bool bme, dma_held;
	uint32_t cc, csts;
} reclaim;

/* At the start of pcitest's reclaim: the device's state, and whether its
 * DMA frames are still allocated (a claim that succeeds would mean they
 * were freed before; it is undone at once). A thread that may sleep. */
static void observe(enum domain_event ev, const struct domain *d, uint64_t ns)
{
	(void)ns;
	if (ev != DOMAIN_EV_RECLAIM || !__atomic_load_n(&reclaim.armed, __ATOMIC_ACQUIRE) ||
	    strcmp(d->name, "pcitest"))
		return;
	struct pci_func *f = pci_find("nvme0");
	reclaim.bme = pci_master(f);
	reclaim.cc = f->regs[NVME_CC / 4];
	reclaim.csts = f->regs[NVME_CSTS / 4];
	reclaim.dma_held = frame_claim(reclaim.dma_pa, PCITEST_DMA_PAGES) < 0;
	if (!reclaim.dma_held)
		frame_free(reclaim.dma_pa, PCITEST_DMA_PAGES);
	reclaim.armed = false;
	reclaim.seen = true;
}
DOMAIN_OBSERVER(ktest_pci, observe);

static struct pci_func *nvme0(struct ktest_ctx *t)
{
	struct pci_func *f = pci_find("nvme0");
	if (!f)
		ktest_skip(t, "no NVMe controller (booted with ci/run-vm --no-nvme?)");
	return f;
}

KTEST(pci_nvme0_enumerated)
{
	struct pci_func *f = nvme0(t);
	if (!f)
		return;
	KT_ASSERT_EQ(f->info.class_code, 0x01);
	KT_ASSERT_EQ(f->info.subclass, 0x08);
	KT_ASSERT_EQ(f->info.prog_if, 0x02);
	KT_ASSERT_EQ(f->info.bar_flags[0], MAPLE_BAR_MEM | MAPLE_BAR_64);
	KT_ASSERT_EQ(f->info.bar_flags[1], MAPLE_BAR_UPPER);
	KT_ASSERT(f->info.bar_size[0] >= 0x4000);
	KT_ASSERT(f->info.msix && f->info.pcie);
	KT_ASSERT(f->regs);
}

static long sys(struct domain *d, int op, long arg)
{
	return domain_call(d, PciTest_sys_METHOD, op, arg, 0, 0);
}

static long rogue_run(struct domain *rogue, int number, uint64_t target)
{
	return domain_call(rogue, Rogue_run_METHOD, number, (long)target, 0, 0);
}

/* Every bad argument of the holder gets its exact error; what is fine works. */
static void holder_errors(struct ktest_ctx *t, struct domain *d, struct pci_func *f, long bus,
			  uint64_t va)
{
	/* The bus address is where the domain's DMA memory is: the
	 * controller wrote Identify there, whose first field is the PCI
	 * vendor id (NVMe 2.0, figure 275). */
	KT_ASSERT_EQ(*(uint16_t *)phys_to_virt((uint64_t)bus + PCITEST_IDENTIFY), f->info.vendor);
	KT_ASSERT_EQ(sys(d, PCITEST_DMA_BUS, (long)va + 4095), bus + 4095);
	KT_ASSERT(pci_master(f));
	KT_ASSERT(f->regs[NVME_CSTS / 4] & NVME_RDY);
	/* BAR 0 again: the same mapping, uncached, user, under d's key. */
	long bar = sys(d, PCITEST_BAR, 0);
	KT_ASSERT(bar > 0);
	KT_ASSERT_EQ(sys(d, PCITEST_BAR, 0), bar);
	uint64_t pte = vm_leaf_flags((uint64_t)bar);
	KT_ASSERT_EQ(pte & (PTE_PCD | PTE_PWT | PTE_U | PTE_W | PTE_NX),
		     PTE_PCD | PTE_PWT | PTE_U | PTE_W | PTE_NX);
	KT_ASSERT_EQ(pte & PTE_PKEY_MASK, pte_key(d->pkey));
	KT_ASSERT_EQ(sys(d, PCITEST_BAR, 6), -MAPLE_EINVAL);
	KT_ASSERT_EQ(sys(d, PCITEST_BAR, -1), -MAPLE_EINVAL);
	KT_ASSERT_EQ(sys(d, PCITEST_BAR, 1), -MAPLE_EINVAL); /* BAR 0's upper half */
	KT_ASSERT_EQ(sys(d, PCITEST_BAR, 2), -MAPLE_EINVAL); /* not implemented */
	struct pci_func *ahci = pci_find("ahci0");
	if (ahci && (ahci->info.bar_flags[4] & MAPLE_BAR_IO))
		KT_ASSERT_EQ(sys(d, PCITEST_BAR_AHCI, 4), -MAPLE_EINVAL); /* an I/O BAR */
	KT_ASSERT_EQ(sys(d, PCITEST_BAR_SIZE, 0), f->info.bar_size[0]);
	KT_ASSERT_EQ(sys(d, PCITEST_BAR_SIZE, 1), -MAPLE_EINVAL);
	KT_ASSERT_EQ(sys(d, PCITEST_BAR_SIZE, 6), -MAPLE_EINVAL);
	KT_ASSERT_EQ(sys(d, PCITEST_DMA_ALLOC, 0), -MAPLE_EINVAL);
	KT_ASSERT_EQ(sys(d, PCITEST_DMA_ALLOC, DMEM_DMA_MAX + 1), -MAPLE_EINVAL);
	KT_ASSERT_EQ(sys(d, PCITEST_DMA_ALLOC, 1UL << 40), -MAPLE_EINVAL);
	KT_ASSERT_EQ(sys(d, PCITEST_DMA_BUS, 0), -MAPLE_EFAULT); /* its heap */
	KT_ASSERT_EQ(sys(d, PCITEST_DMA_BUS, (long)va + PCITEST_DMA_PAGES * PAGE_SIZE),
		     -MAPLE_EFAULT);
	KT_ASSERT_EQ(sys(d, PCITEST_DMA_BUS, bar), -MAPLE_EFAULT); /* a BAR is not DMA memory */
	KT_ASSERT_EQ(sys(d, PCITEST_DMA_BUS, ROGUE_KERNEL_VA), -MAPLE_EFAULT);
	KT_ASSERT_EQ(sys(d, PCITEST_INFO, 0), (long)f->info.vendor << 16 | f->info.device);
	KT_ASSERT_EQ(sys(d, PCITEST_INFO, ROGUE_KERNEL_VA), -MAPLE_EFAULT);
	KT_ASSERT_EQ(sys(d, PCITEST_BUSMASTER, 2), -MAPLE_EINVAL);
	KT_ASSERT_EQ(sys(d, PCITEST_NAME_FAULT, ROGUE_KERNEL_VA), -MAPLE_EFAULT);
	KT_ASSERT(pci_master(f)); /* nothing above turned it off */
}

/* rogue holds nothing: refused, and the holder's device untouched. */
static void rogue_refused(struct ktest_ctx *t, struct domain *rogue, struct pci_func *f,
			  uint64_t dma_va)
{
	KT_ASSERT_EQ(rogue_run(rogue, ROGUE_PCI_MAP_BAR, 0), -MAPLE_EPERM);
	KT_ASSERT_EQ(rogue_run(rogue, ROGUE_PCI_BUSMASTER, 0), -MAPLE_EPERM);
	KT_ASSERT_EQ(rogue_run(rogue, ROGUE_PCI_DMA_BUS, dma_va), -MAPLE_EFAULT);
	KT_ASSERT_EQ(rogue_run(rogue, ROGUE_PCI_DMA_BUS, 0), -MAPLE_EFAULT);
	KT_ASSERT_EQ(rogue_run(rogue, ROGUE_PCI_DMA_BUS_HEAP, 0), -MAPLE_EFAULT);
	KT_ASSERT_EQ(rogue_run(rogue, ROGUE_PCI_MAP_BAR6, 0), -MAPLE_EPERM);
	KT_ASSERT_EQ(rogue_run(rogue, ROGUE_PCI_NO_SUCH, 0), -MAPLE_ESRCH);
	KT_ASSERT_EQ(rogue->state, DOMAIN_RUNNING);
	KT_ASSERT(pci_master(f));
}

static void grant_and_quiesce(struct ktest_ctx *t)
{
	struct pci_func *f = pci_find("nvme0");
	struct domain *d = ktest_create(t, "pcitest");
	struct domain *rogue = d ? ktest_create(t, "rogue") : NULL;
	if (!rogue)
		goto out;
	if (f->grant.holder != domain_handle(d)) {
		ktest_fail(t, __FILE__, __LINE__, "nvme0 was not granted to pcitest");
		goto out;
	}
	long bus = domain_call(d, PciTest_start_METHOD, 0, 0, 0, 0);
	uint64_t va = (uint64_t)domain_call(d, PciTest_dma_addr_METHOD, 0, 0, 0, 0);
	if (bus <= 0 || !va) {
		ktest_fail(t, __FILE__, __LINE__, "pcitest.start: %ld", bus);
		goto out;
	}
	holder_errors(t, d, f, bus, va);
	if (t->failed)
		goto out;
	rogue_refused(t, rogue, f, va);
	if (t->failed)
		goto out;
	reclaim.dma_pa = (uint64_t)bus;
	reclaim.seen = false;
	__atomic_store_n(&reclaim.armed, true, __ATOMIC_RELEASE);
	int rc = ktest_destroy(d);
	d = NULL;
	reclaim.armed = false;
	if (rc != 0 || !reclaim.seen) {
		ktest_fail(t, __FILE__, __LINE__, "destroy: %d, reclaim seen: %d", rc,
			   reclaim.seen);
		goto out;
	}
	if (reclaim.bme || (reclaim.cc & NVME_CC_EN) || (reclaim.csts & NVME_RDY) ||
	    !reclaim.dma_held) {
		ktest_fail(t, __FILE__, __LINE__,
			   "at reclaim: BME %d, CC %#x, CSTS %#x, DMA frames still held %d",
			   reclaim.bme, reclaim.cc, reclaim.csts, reclaim.dma_held);
		goto out;
	}
	/* Freed by the teardown: reuse them at once, as a pattern. */
	if (frame_claim((uint64_t)bus, PCITEST_DMA_PAGES) < 0) {
		ktest_fail(t, __FILE__, __LINE__, "pcitest's DMA frames were not freed");
		goto out;
	}
	memset(phys_to_virt((uint64_t)bus), PATTERN, PCITEST_DMA_PAGES * PAGE_SIZE);
	frame_free((uint64_t)bus, PCITEST_DMA_PAGES);
	if (pci_master(f) || (f->regs[NVME_CSTS / 4] & NVME_RDY) || f->grant.holder)
		ktest_fail(t, __FILE__, __LINE__, "after destroy: BME %d, CSTS %#x, holder %#lx",
			   pci_master(f), f->regs[NVME_CSTS / 4], f->grant.holder);
out:
	ktest_destroy(rogue);
	ktest_destroy(d);
}

KTEST(pci_grant_dma_and_quiesce)
{
	if (nvme0(t))
		ktest_run_counted(t, "kt-pci", grant_and_quiesce, RUN_WAIT_NS);
}

/*
 * A controller whose CSTS.RDY stays 1: the kernel's view of its registers
 * is pointed at a page that says so (CAP.TO = 1, 500 ms), as a controller
 * that hangs would. The destroy fails with -MAPLE_ETIMEDOUT and frees
 * nothing; no new instance is granted the controller; once the registers
 * are the real ones again, a second destroy stops it and frees the memory.
 */
static void stuck(struct ktest_ctx *t)
{
	struct pci_func *f = pci_find("nvme0");
	struct domain *d = ktest_create(t, "pcitest");
	uint32_t *fake = kzalloc(PAGE_SIZE);
	volatile uint32_t *real = f->regs;
	struct domain *d2 = NULL;
	if (!d || !fake)
		goto out;
	long bus = domain_call(d, PciTest_start_METHOD, 0, 0, 0, 0);
	if (bus <= 0) {
		ktest_fail(t, __FILE__, __LINE__, "pcitest.start: %ld", bus);
		goto out;
	}
	fake[0] = 1u << 24; /* CAP.TO = 1 */
	fake[NVME_CC / 4] = NVME_CC_EN;
	fake[NVME_CSTS / 4] = NVME_RDY;
	f->regs = fake;
	uint64_t h = domain_handle(d);
	char err[160];
	int rc = domain_destroy(h, err, sizeof err);
	bool held = frame_claim((uint64_t)bus, 1) < 0;
	if (!held)
		frame_free((uint64_t)bus, 1);
	enum domain_state state = domain_state_of(h); /* d is freed if the destroy went through */
	if (rc != -MAPLE_ETIMEDOUT || state != DOMAIN_FAILING || !held || !f->stuck ||
	    f->grant.holder != h) {
		ktest_fail(t, __FILE__, __LINE__,
			   "destroy with the controller stuck: %d (%s), state %d, DMA held %d, "
			   "stuck %d",
			   rc, err, state, held, f->stuck);
		if (state == DOMAIN_GONE)
			d = NULL;
		goto out;
	}
	d2 = ktest_create(t, "pcitest");
	if (!d2)
		goto out;
	long r2 = sys(d2, PCITEST_BAR, 0);
	if (f->grant.holder != h || r2 != -MAPLE_EPERM) {
		ktest_fail(t, __FILE__, __LINE__, "a new pcitest got the stuck nvme0: map %ld", r2);
		goto out;
	}
	f->regs = real;
	rc = domain_destroy(h, err, sizeof err);
	held = frame_claim((uint64_t)bus, 1) < 0;
	if (!held)
		frame_free((uint64_t)bus, 1);
	if (rc != 0 || held || f->stuck || pci_master(f) || (f->regs[NVME_CSTS / 4] & NVME_RDY))
		ktest_fail(t, __FILE__, __LINE__,
			   "second destroy: %d (%s), DMA held %d, stuck %d, BME %d", rc,
			   rc ? err : "", held, f->stuck, pci_master(f));
	d = NULL;
out:
	f->regs = real;
	ktest_destroy(d2);
	ktest_destroy(d);
	kfree(fake);
}

KTEST(pci_quiesce_timeout_keeps_memory)
{
	if (nvme0(t))
		ktest_run_counted(t, "kt-pci", stuck, RUN_WAIT_NS);
}

/*
 * SYS_RREF_BUS gives one bus address per payload, so a device writes the
 * payload's whole size class from there on: every page of it must be
 * backed by the next frame. It is, by construction (xheap/rref.c: a 2 MiB
 * chunk is one contiguous run of frames and holds one size class, at most
 * 2 MiB); this checks the page tables agree, for each class of a page and
 * above.
 */
static void contiguous(struct ktest_ctx *t)
{
	struct domain *d = ktest_create(t, "hello");
	if (!d)
		return;
	for (unsigned shift = 12; shift <= 21 && !t->failed; shift++) {
		long h = rref_alloc(d->id, &d->rref_limits, 0, 1UL << shift);
		if (h < 0) {
			ktest_fail(t, __FILE__, __LINE__, "rref_alloc of %lu bytes: %ld",
				   1UL << shift, h);
			break;
		}
		long bus = rref_bus(d->id, (uint64_t)h);
		uint64_t va = RREF_HANDLE_PTR((uint64_t)h);
		for (uint64_t off = 0; bus > 0 && off < 1UL << shift; off += PAGE_SIZE)
			if (virt_to_phys((void *)(va + off)) != (uint64_t)bus + off) {
				ktest_fail(t, __FILE__, __LINE__,
					   "%lu-byte RRef: page at +%#lx is at %#lx, not %#lx",
					   1UL << shift, off, virt_to_phys((void *)(va + off)),
					   (uint64_t)bus + off);
				break;
			}
		if (bus <= 0)
			ktest_fail(t, __FILE__, __LINE__, "rref_bus: %ld", bus);
		rref_free(d->id, (uint64_t)h);
	}
	ktest_destroy(d);
}

KTEST(pci_rref_payload_contiguous)
{
	ktest_run_counted(t, "kt-pci", contiguous, RUN_WAIT_NS);
}

/*
 * Memory decode off when the driver goes (as firmware or a broken driver
 * could leave it): the kernel must still reach CC and CSTS to stop the
 * controller, so pci_stop turns decode on with the same write that turns
 * bus mastering off. Before, the CC.EN = 0 write went nowhere, CSTS read 0
 * (QEMU answers 0 outside any decode), and the destroy freed the memory of a
 * controller still enabled.
 */
static void decode_off(struct ktest_ctx *t)
{
	struct pci_func *f = pci_find("nvme0");
	struct domain *d = ktest_create(t, "pcitest");
	if (!d)
		return;
	long bus = domain_call(d, PciTest_start_METHOD, 0, 0, 0, 0);
	if (bus <= 0) {
		ktest_fail(t, __FILE__, __LINE__, "pcitest.start: %ld", bus);
		ktest_destroy(d);
		return;
	}
	f->cfg[PCI_COMMAND / 4] = f->cfg[PCI_COMMAND / 4] & 0xffff & ~PCI_CMD_MEM;
	char err[160] = "";
	int rc = domain_destroy(domain_handle(d), err, sizeof err);
	if (rc)
		ktest_destroy_handle(domain_handle(d)); /* frees nothing while it is stuck */
	/* The controller itself, read with decode on whatever the kernel did:
	 * disabled and not ready (with decode off, QEMU reads 0 here, which
	 * looks ready to be freed and is not). */
	uint32_t cmd = f->cfg[PCI_COMMAND / 4] & 0xffff;
	f->cfg[PCI_COMMAND / 4] = cmd | PCI_CMD_MEM;
	KT_ASSERT_EQ(rc, 0);
	KT_ASSERT_EQ(f->regs[NVME_CC / 4] & NVME_CC_EN, 0);
	KT_ASSERT_EQ(f->regs[NVME_CSTS / 4] & NVME_RDY, 0);
	KT_ASSERT(!pci_master(f));
	KT_ASSERT(cmd & PCI_CMD_MEM);
}

KTEST(pci_quiesce_with_memory_decode_off)
{
	if (nvme0(t))
		ktest_run_counted(t, "kt-pci", decode_off, RUN_WAIT_NS);
}
