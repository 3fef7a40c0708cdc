/*
 * Bringing the NVMe controller up (nvme.h), in the order of NVMe 1.4 7.6.1
 * "Initialization": disable and wait for not-ready, the admin queue, enable
 * and wait for ready (both bounded by CAP.TO), Identify Controller and
 * Namespace, the number of I/O queues, then the I/O queue pairs. Every
 * refusal logs one line naming nvme0 and the reason and returns an error,
 * so domain_main fails and the domain ends cleanly; the controller is left
 * as it is (the kernel quiesces it when the domain goes).
 */
#include <block/nvme/nvme.h>
#include <lib/string.h>

struct nvme_ctrl nvme;

static uint32_t rd32(uint32_t off)
{
	return __atomic_load_n((volatile uint32_t *)(nvme.bar + off), __ATOMIC_ACQUIRE);
}

static void wr32(uint32_t off, uint32_t v)
{
	__atomic_store_n((volatile uint32_t *)(nvme.bar + off), v, __ATOMIC_RELEASE);
}

/* 64-bit registers as two dword accesses, low first: every controller
 * must accept those (3.1, "access ... as 32-bit"). */
static uint64_t rd64(uint32_t off)
{
	uint64_t lo = rd32(off);
	return lo | (uint64_t)rd32(off + 4) << 32;
}

static void wr64(uint32_t off, uint64_t v)
{
	wr32(off, (uint32_t)v);
	wr32(off + 4, (uint32_t)(v >> 32));
}

void *nvme_dma(uint64_t bytes, uint64_t *bus)
{
	bytes = (bytes + NVME_PAGE - 1) & ~(uint64_t)(NVME_PAGE - 1);
	long va = maple_dma_alloc(bytes);
	long b = va < 0 ? va : maple_dma_bus((void *)va);
	if (b < 0) {
		dom_printf("nvme: no DMA memory for %lu bytes: error %ld", (unsigned long)bytes, b);
		return NULL;
	}
	*bus = (uint64_t)b;
	return (void *)va;
}

/*
 * Wait until CSTS.RDY == want, at most CAP.TO (3.1.1: the worst case, in
 * 500 ms units, for RDY to follow CC.EN). A fatal status (CSTS.CFS) ends
 * the wait at once: the controller will not recover by itself.
 */
static long wait_ready(uint32_t want, const char *step)
{
	uint64_t limit_ms = NVME_CAP_TO(nvme.cap) * NVME_TO_UNIT_MS;
	uint64_t start = maple_clock_ns();
	for (;;) {
		uint32_t csts = rd32(NVME_REG_CSTS);
		if (csts & NVME_CSTS_CFS) {
			dom_printf(
				"nvme: %s: controller fatal status while %s (CSTS %#x); left alone",
				NVME_DEVICE, step, csts);
			return -MAPLE_EIO;
		}
		if ((csts & NVME_CSTS_RDY) == want)
			return 0;
		if (maple_clock_ns() - start > limit_ms * 1000000) {
			dom_printf("nvme: %s: not %s after %lu ms (CAP.TO), CSTS %#x; left alone",
				   NVME_DEVICE, want ? "ready" : "disabled",
				   (unsigned long)limit_ms, csts);
			return -MAPLE_ETIMEDOUT;
		}
		maple_sleep_ns(1000000);
	}
}

/* 7.6.1 steps 1-7: reset, admin queue, enable. */
static long enable(void)
{
	nvme.cap = rd64(NVME_REG_CAP);
	nvme.dstrd = (uint32_t)NVME_CAP_DSTRD(nvme.cap);
	uint32_t vs = rd32(NVME_REG_VS);
	dom_printf("nvme: %s: NVMe %u.%u, CAP %#lx (MQES %u, TO %u ms, DSTRD %u)", NVME_DEVICE,
		   (unsigned)NVME_VS_MJR(vs), (unsigned)NVME_VS_MNR(vs), (unsigned long)nvme.cap,
		   (unsigned)NVME_CAP_MQES(nvme.cap) + 1,
		   (unsigned)(NVME_CAP_TO(nvme.cap) * NVME_TO_UNIT_MS), nvme.dstrd);
	uint64_t db_end = NVME_CQ_HEAD_DB(NVME_IO_QUEUES, nvme.dstrd) + 4;
	if (nvme.bar_size < db_end) {
		dom_printf("nvme: %s: BAR0 of %lu bytes ends before the doorbells (%lu)",
			   NVME_DEVICE, (unsigned long)nvme.bar_size, (unsigned long)db_end);
		return -MAPLE_EINVAL;
	}
	if (!(NVME_CAP_CSS(nvme.cap) & NVME_CAP_CSS_NVM) || NVME_CAP_MPSMIN(nvme.cap) != 0) {
		dom_printf("nvme: %s: no NVM command set or no 4 KiB pages (CAP %#lx)", NVME_DEVICE,
			   (unsigned long)nvme.cap);
		return -MAPLE_EINVAL;
	}
	if (rd32(NVME_REG_CSTS) & NVME_CSTS_CFS) {
		dom_printf("nvme: %s: controller fatal status (CSTS %#x); left alone", NVME_DEVICE,
			   rd32(NVME_REG_CSTS));
		return -MAPLE_EIO;
	}
	/* A predecessor (or the firmware) may have left it enabled: 3.1.5,
	 * clearing CC.EN resets the controller; wait for RDY to follow. */
	wr32(NVME_REG_CC, rd32(NVME_REG_CC) & ~NVME_CC_EN);
	long r = wait_ready(0, "disabling");
	if (r < 0)
		return r;
	uint16_t mqes = (uint16_t)(NVME_CAP_MQES(nvme.cap) + 1);
	r = nvme_queue_init(&nvme.admin, 0, mqes < NVME_ADMIN_ENTRIES ? mqes : NVME_ADMIN_ENTRIES);
	if (r < 0)
		return r;
	wr32(NVME_REG_AQA, NVME_AQA(nvme.admin.entries, nvme.admin.entries));
	wr64(NVME_REG_ASQ, nvme.admin.sq_bus);
	wr64(NVME_REG_ACQ, nvme.admin.cq_bus);
	/* The controller fetches commands by DMA: bus mastering first. */
	r = maple_device_busmaster(NVME_DEVICE, 1);
	if (r < 0) {
		dom_printf("nvme: %s: cannot enable bus mastering: error %ld", NVME_DEVICE, r);
		return r;
	}
	wr32(NVME_REG_CC, NVME_CC_CSS_NVM | NVME_CC_MPS(12) | NVME_CC_AMS_RR |
				  NVME_CC_IOSQES(NVME_SQES_LOG2) | NVME_CC_IOCQES(NVME_CQES_LOG2) |
				  NVME_CC_EN);
	return wait_ready(NVME_CSTS_RDY, "enabling");
}

static long identify(void)
{
	uint64_t bus;
	uint8_t *buf = nvme_dma(sizeof(struct nvme_id_ctrl), &bus);
	if (!buf)
		return -MAPLE_ENOMEM;
	/* 5.15: CNS 01h, the controller. */
	struct nvme_sqe cmd = {.cdw0 = NVME_ADMIN_IDENTIFY, .cdw10 = NVME_CNS_CONTROLLER};
	struct nvme_done d = nvme_admin(&cmd, bus, NVME_PAGE);
	if (d.status) {
		dom_printf("nvme: %s: Identify Controller failed: status %#x", NVME_DEVICE,
			   d.status);
		return -MAPLE_EIO;
	}
	const struct nvme_id_ctrl *c = (const void *)buf;
	uint32_t nn = c->nn;
	nvme.vwc = c->vwc & 1;
	/* MDTS: 2^MDTS minimum pages (4 KiB here), 0 = no limit. The PRP list
	 * of a slot reaches 128 KiB past the first page whatever MDTS says. */
	nvme.max_xfer = 128u * 1024;
	if (c->mdts && c->mdts < 5)
		nvme.max_xfer = (uint64_t)NVME_PAGE << c->mdts;
	if (NVME_ES_MIN(c->sqes) > NVME_SQES_LOG2 || NVME_ES_MIN(c->cqes) > NVME_CQES_LOG2) {
		dom_printf(
			"nvme: %s: needs queue entries larger than 64/16 bytes (SQES %#x CQES %#x)",
			NVME_DEVICE, c->sqes, c->cqes);
		return -MAPLE_EINVAL;
	}
	char model[41];
	memcpy(model, c->mn, 40);
	model[40] = '\0';
	for (int i = 39; i >= 0 && model[i] == ' '; i--)
		model[i] = '\0';
	if (nn < NVME_NSID) {
		dom_printf("nvme: %s: no namespace %u (NN %u)", NVME_DEVICE, NVME_NSID, nn);
		return -MAPLE_EINVAL;
	}
	/* 5.15: CNS 00h, namespace NSID. */
	memset(buf, 0, NVME_PAGE);
	cmd = (struct nvme_sqe){
		.cdw0 = NVME_ADMIN_IDENTIFY, .nsid = NVME_NSID, .cdw10 = NVME_CNS_NAMESPACE};
	d = nvme_admin(&cmd, bus, NVME_PAGE);
	if (d.status) {
		dom_printf("nvme: %s: Identify Namespace %u failed: status %#x", NVME_DEVICE,
			   NVME_NSID, d.status);
		return -MAPLE_EIO;
	}
	const struct nvme_id_ns *ns = (const void *)buf;
	uint32_t fmt = (uint32_t)NVME_FLBAS_INDEX(ns->flbas);
	uint32_t lbaf = fmt <= ns->nlbaf ? ns->lbaf[fmt] : 0;
	uint32_t lbads = (uint32_t)NVME_LBAF_LBADS(lbaf), ms = (uint32_t)NVME_LBAF_MS(lbaf);
	if (!ns->nsze) {
		dom_printf("nvme: %s: namespace %u has size 0", NVME_DEVICE, NVME_NSID);
		return -MAPLE_EINVAL;
	}
	/* Blocks of 512 B to 4 KiB with no metadata: a 4 KiB page holds whole
	 * blocks and the data is all the controller moves. */
	if (fmt > ns->nlbaf || lbads < 9 || lbads > 12 || ms) {
		dom_printf("nvme: %s: namespace %u has an unexpected LBA format %u (2^%u-byte "
			   "blocks, %u metadata bytes): want 512 to 4096 bytes, no metadata",
			   NVME_DEVICE, NVME_NSID, fmt, lbads, ms);
		return -MAPLE_EINVAL;
	}
	nvme.lbas = ns->nsze;
	nvme.lba_shift = lbads;
	dom_printf("nvme: %s: \"%s\", namespace %u: %lu blocks of %u bytes, max transfer %lu KiB%s",
		   NVME_DEVICE, model, NVME_NSID, (unsigned long)nvme.lbas, 1u << lbads,
		   (unsigned long)(nvme.max_xfer >> 10), nvme.vwc ? ", volatile write cache" : "");
	return 0;
}

/* 5.21.1.7: ask for NVME_IO_QUEUES pairs, then create what was granted:
 * each completion queue before its submission queue (5.4). */
static long io_queues(void)
{
	struct nvme_sqe cmd = {.cdw0 = NVME_ADMIN_SET_FEATURES,
			       .cdw10 = NVME_FEAT_NUM_QUEUES,
			       .cdw11 = NVME_NUM_QUEUES(NVME_IO_QUEUES, NVME_IO_QUEUES)};
	struct nvme_done d = nvme_admin(&cmd, 0, 0);
	if (d.status) {
		dom_printf("nvme: %s: Set Features (Number of Queues) failed: status %#x",
			   NVME_DEVICE, d.status);
		return -MAPLE_EIO;
	}
	uint64_t sq = NVME_NUM_QUEUES_SQ(d.dw0), cq = NVME_NUM_QUEUES_CQ(d.dw0);
	nvme.nio = (uint32_t)(sq < cq ? sq : cq);
	if (nvme.nio > NVME_IO_QUEUES)
		nvme.nio = NVME_IO_QUEUES;
	uint16_t mqes = (uint16_t)(NVME_CAP_MQES(nvme.cap) + 1);
	uint16_t entries = mqes < NVME_IO_ENTRIES ? mqes : NVME_IO_ENTRIES;
	for (uint32_t i = 0; i < nvme.nio; i++) {
		struct nvme_queue *q = &nvme.io[i];
		uint16_t qid = (uint16_t)(i + 1);
		long r = nvme_queue_init(q, qid, entries);
		if (r < 0)
			return r;
		/* PC = 1: PRP1 is the whole queue's base (5.3, 5.4). */
		cmd = (struct nvme_sqe){.cdw0 = NVME_ADMIN_CREATE_CQ,
					.cdw10 = NVME_CREATE_Q_CDW10(qid, entries),
					.cdw11 = NVME_CREATE_Q_PC}; /* IEN = 0: polled */
		d = nvme_admin(&cmd, q->cq_bus, 0);
		if (!d.status) {
			cmd = (struct nvme_sqe){.cdw0 = NVME_ADMIN_CREATE_SQ,
						.cdw10 = NVME_CREATE_Q_CDW10(qid, entries),
						.cdw11 = NVME_CREATE_SQ_CQID(qid) |
							 NVME_CREATE_Q_PC};
			d = nvme_admin(&cmd, q->sq_bus, 0);
		}
		if (d.status) {
			dom_printf("nvme: %s: creating I/O queue %u failed: status %#x",
				   NVME_DEVICE, qid, d.status);
			return -MAPLE_EIO;
		}
	}
	dom_printf("nvme: %s: %u I/O queue pairs of %u entries (granted %lu/%lu)", NVME_DEVICE,
		   nvme.nio, entries, (unsigned long)sq, (unsigned long)cq);
	return 0;
}

#ifdef NVME_FAKE_CSTS
/*
 * The test images nvme_cfs and nvme_notready (kernel/ktest/nvme.c): the
 * driver works on a copy of the registers in its own memory whose CSTS
 * stays NVME_FAKE_CSTS whatever is written to CC, with CAP.TO one unit
 * (500 ms, inside the call watchdog), so that its refusals of a controller
 * in fatal status and of one that never becomes ready can be checked on
 * QEMU's well-behaved controller.
 */
static volatile uint8_t *fake_registers(volatile uint8_t *real)
{
	uint64_t bus;
	uint8_t *copy = nvme_dma(NVME_REG_DBS + NVME_PAGE, &bus);
	if (!copy)
		return NULL;
	for (uint32_t off = 0; off < sizeof(struct nvme_regs); off += 4)
		*(uint32_t *)(copy + off) = *(volatile uint32_t *)(real + off);
	uint64_t cap = *(uint64_t *)(copy + NVME_REG_CAP);
	cap = (cap & ~(0xffull << 24)) | (1ull << 24); /* CAP.TO = 1 */
	*(uint64_t *)(copy + NVME_REG_CAP) = cap;
	*(uint32_t *)(copy + NVME_REG_CSTS) = NVME_FAKE_CSTS;
	*(uint32_t *)(copy + NVME_REG_CC) = 0;
	return copy;
}
#endif

long nvme_ctrl_start(void)
{
	nvme_started_ns = maple_clock_ns();
	long size = maple_device_bar_size(NVME_DEVICE, 0);
	long va = size < 0 ? size : maple_device_bar(NVME_DEVICE, 0);
	if (va < 0) {
		dom_printf("nvme: cannot map BAR0 of %s: error %ld", NVME_DEVICE, va);
		return va;
	}
	nvme.bar = (volatile uint8_t *)va;
	nvme.bar_size = (uint64_t)size;
#ifdef NVME_FAKE_CSTS
	nvme.bar = fake_registers(nvme.bar);
	if (!nvme.bar)
		return -MAPLE_ENOMEM;
#endif
	long r = enable();
	if (r >= 0)
		r = identify();
	if (r >= 0)
		r = io_queues();
	return r;
}
