/*
 * NVMe queue pairs (nvme.h): putting commands into a submission queue with
 * their PRPs, one doorbell write per batch, and reaping the completion queue
 * by its phase tag, matching each completion to its command by command id.
 * Polled: the driver asks for no interrupts. A queue's caller holds its
 * lock; the controller is the only other party, and it is not trusted to
 * name only commands in flight.
 */
#include <block/nvme/nvme.h>
#include <lib/string.h>

#define SLOT_BITS 8 /* cid = slot | gen << SLOT_BITS */
_Static_assert(NVME_IO_ENTRIES <= (1u << SLOT_BITS), "a slot fits the cid's low byte");

static void mmio_write32(volatile uint32_t *reg, uint32_t v)
{
	__atomic_store_n(reg, v, __ATOMIC_RELEASE);
}

struct nvme_queue *nvme_queue_claim(struct nvme_queue *qs, uint32_t n)
{
	for (;;) {
		for (uint32_t i = 0; i < n; i++)
			if (!__atomic_exchange_n(&qs[i].busy, 1, __ATOMIC_ACQUIRE))
				return &qs[i];
		maple_yield(); /* every queue is some thread's whole batch */
	}
}

void nvme_queue_release(struct nvme_queue *q)
{
	__atomic_store_n(&q->busy, 0, __ATOMIC_RELEASE);
}

long nvme_queue_init(struct nvme_queue *q, uint16_t id, uint16_t entries)
{
	memset(q, 0, sizeof(*q));
	q->id = id;
	q->entries = entries;
	q->sq = nvme_dma((uint64_t)entries * sizeof(struct nvme_sqe), &q->sq_bus);
	q->cq = nvme_dma((uint64_t)entries * sizeof(struct nvme_cqe), &q->cq_bus);
	q->prp = nvme_dma((uint64_t)entries * NVME_PRP_ENTRIES * 8, &q->prp_bus);
	q->slots = calloc(entries, sizeof(*q->slots));
	if (!q->sq || !q->cq || !q->prp || !q->slots) {
		dom_printf("nvme: queue %u: no memory for %u entries", id, entries);
		return -MAPLE_ENOMEM;
	}
	for (uint16_t i = 0; i + 1 < entries; i++)
		q->slots[i].cid = NVME_CID_FREE;
	/* 3.1.24/3.1.25: queue y's doorbells, 4 << CAP.DSTRD bytes apart. */
	q->sq_db = (volatile uint32_t *)(nvme.bar + NVME_SQ_TAIL_DB(id, nvme.dstrd));
	q->cq_db = (volatile uint32_t *)(nvme.bar + NVME_CQ_HEAD_DB(id, nvme.dstrd));
	q->phase = 1; /* 4.6.2: the first pass through a zeroed CQ writes P = 1 */
	return 0;
}

/*
 * The data pointer of one command (4.3): PRP1 is the first byte (any dword
 * offset), PRP2 the second page if the transfer ends there, else the bus
 * address of this slot's PRP list holding every page after the first. The
 * buffer is physically contiguous (an RRef payload or DMA memory), so its
 * pages are consecutive bus addresses.
 */
static void set_prps(struct nvme_queue *q, uint16_t slot, struct nvme_sqe *cmd, uint64_t data,
		     uint64_t len)
{
	cmd->prp1 = data;
	cmd->prp2 = 0;
	uint64_t first = NVME_PAGE - (data & (NVME_PAGE - 1));
	if (!len || len <= first)
		return;
	uint64_t next = data + first;
	if (len <= first + NVME_PAGE) {
		cmd->prp2 = next;
		return;
	}
	uint64_t *list = q->prp + (uint64_t)slot * NVME_PRP_ENTRIES;
	uint32_t n = 0;
	for (uint64_t a = next; a < data + len; a += NVME_PAGE)
		list[n++] = a;
	cmd->prp2 = q->prp_bus + (uint64_t)slot * NVME_PRP_ENTRIES * 8;
}

/* Tell the controller about every entry written since the last ring: the
 * one doorbell write of a batch (3.1.24). */
void nvme_queue_ring(struct nvme_queue *q)
{
	if (q->rung_tail == q->sq_tail)
		return;
	mmio_write32(q->sq_db, q->sq_tail);
	q->rung_tail = q->sq_tail;
}

/*
 * Reap every completion the controller has posted (4.6.2: a new entry's
 * phase tag differs from the last pass's), then write the CQ head doorbell
 * once. A completion is matched by its cid, never by its position: the
 * controller completes in any order. A cid that is not in flight (never
 * issued, already completed, from a stale generation) is logged and
 * ignored: a buggy or hostile controller must not make the driver finish a
 * request twice or touch a slot someone else uses.
 */
static uint32_t reap(struct nvme_queue *q, void (*done)(void *, uint16_t, struct nvme_done),
		     void *ctx)
{
	uint32_t n = 0;
	for (;;) {
		volatile struct nvme_cqe *e = &q->cq[q->cq_head];
		uint16_t status = __atomic_load_n(&e->status, __ATOMIC_ACQUIRE);
		if (NVME_STATUS_P(status) != q->phase)
			break;
		uint16_t cid = e->cid;
		struct nvme_done d = {.dw0 = e->dw0, .status = (uint16_t)(status & ~1u)};
		if (++q->cq_head == q->entries) {
			q->cq_head = 0;
			q->phase ^= 1;
		}
		n++;
		uint16_t slot = cid & ((1u << SLOT_BITS) - 1);
		if (slot + 1 >= q->entries || q->slots[slot].cid != cid) {
			dom_printf("nvme: queue %u: completion for unknown command id %#x ignored",
				   q->id, cid);
			continue;
		}
		q->slots[slot].cid = NVME_CID_FREE;
		q->inflight--;
		done(ctx, q->slots[slot].req, d);
	}
	if (n)
		mmio_write32(q->cq_db, q->cq_head);
	return n;
}

/* Poll until fewer than `most` commands are in flight, within the timeout. */
static void wait_below(struct nvme_queue *q, uint16_t most,
		       void (*done)(void *, uint16_t, struct nvme_done), void *ctx)
{
	uint64_t start = maple_clock_ns();
	uint32_t idle = 0;
	while (q->inflight >= most) {
		if (reap(q, done, ctx)) {
			idle = 0;
			continue;
		}
		if (++idle % 64 == 0) {
			/* Failing is the safe way out: the kernel quiesces the
			 * controller (BME off, CC.EN = 0) before the memory its
			 * commands point at goes back to anyone. */
			if (maple_clock_ns() - start > NVME_CMD_TIMEOUT_NS) {
				dom_printf("nvme: queue %u: SQ tail %u, CQ head %u, CSTS %#x",
					   q->id, q->sq_tail, q->cq_head,
					   __atomic_load_n(
						   (volatile uint32_t *)(nvme.bar + NVME_REG_CSTS),
						   __ATOMIC_ACQUIRE));
				maple_panic(
					"nvme: queue %u: %u commands not completed after %llu ms",
					q->id, q->inflight, NVME_CMD_TIMEOUT_NS / 1000000);
			}
			maple_yield();
		}
	}
}

long nvme_queue_put(struct nvme_queue *q, struct nvme_sqe *cmd, uint64_t data, uint64_t len,
		    uint16_t req, void (*done)(void *, uint16_t, struct nvme_done), void *ctx)
{
	uint16_t slots = (uint16_t)(q->entries - 1);
	if (q->inflight == slots) {
		nvme_queue_ring(q); /* a batch larger than the queue: let the controller catch up */
		wait_below(q, slots, done, ctx);
	}
	uint16_t slot = 0;
	while (q->slots[slot].cid != NVME_CID_FREE)
		slot++; /* inflight < slots: one is free */
	/* slot < entries - 1 <= 255 - 1: never NVME_CID_FREE. */
	uint16_t cid = (uint16_t)(slot | (uint16_t)q->gen++ << SLOT_BITS);
	q->slots[slot] = (struct nvme_slot){.cid = cid, .req = req};
	cmd->cdw0 = (cmd->cdw0 & 0xffffu) | (uint32_t)cid << 16;
	set_prps(q, slot, cmd, data, len);
	/* The entry is written whole before the doorbell names it (nvme_queue_ring's release). */
	memcpy((void *)&q->sq[q->sq_tail], cmd, sizeof(*cmd));
	q->sq_tail = (uint16_t)((q->sq_tail + 1) % q->entries);
	q->inflight++;
	return 0;
}

void nvme_queue_drain(struct nvme_queue *q, void (*done)(void *, uint16_t, struct nvme_done),
		      void *ctx)
{
	nvme_queue_ring(q);
	wait_below(q, 1, done, ctx);
}

static void admin_done(void *ctx, uint16_t req, struct nvme_done d)
{
	(void)req;
	*(struct nvme_done *)ctx = d;
}

struct nvme_done nvme_admin(struct nvme_sqe *cmd, uint64_t data, uint64_t len)
{
	struct nvme_done d = {.status = 0xffff};
	struct nvme_queue *q = nvme_queue_claim(&nvme.admin, 1);
	nvme_queue_put(q, cmd, data, len, 0, admin_done, &d);
	nvme_queue_drain(q, admin_done, &d);
	nvme_queue_release(q);
	return d;
}

long nvme_status_error(uint16_t status)
{
	if (!status)
		return 0;
	uint32_t sct = (uint32_t)NVME_STATUS_SCT(status), sc = (uint32_t)NVME_STATUS_SC(status);
	/* 4.6.1.2.1: the host named blocks the namespace does not have. */
	if (sct == NVME_SCT_GENERIC && (sc == NVME_SC_LBA_RANGE || sc == NVME_SC_INVALID_FIELD))
		return -MAPLE_EINVAL;
	return -MAPLE_EIO;
}
