/*
 * The NVMe driver's own interfaces between its files: the controller
 * (nvme_ctrl.c: reset, enable, Identify, queue creation), the queue pairs
 * (nvme_queue.c: commands, PRPs, doorbells, completions), the BlockDevice
 * methods (nvme.c) and domain_main (nvme_main.c). One controller per domain: the device granted as
 * nvme0.
 */
#ifndef DRIVERS_NVME_H
#define DRIVERS_NVME_H

#include <block/nvme/nvme_spec.h>
#include <idl/bdev.h>
#include <sdk/dom.h>

#define NVME_DEVICE	   "nvme0"
#define NVME_PAGE	   4096u /* CC.MPS = 0: the host page size the driver sets */
#define NVME_NSID	   1	 /* the namespace served */
#define NVME_IO_QUEUES	   2	 /* I/O queue pairs asked for (Set Features) */
#define NVME_IO_ENTRIES	   128	 /* per I/O queue, if CAP.MQES allows */
#define NVME_ADMIN_ENTRIES 16
/* PRP list entries per command slot: a 128 KiB transfer at any dword offset
 * spans 33 pages, the first in PRP1 and 32 in the list (4.3). */
#define NVME_PRP_ENTRIES 64
/* No completion for this long with commands in flight: the driver fails
 * itself, so the kernel quiesces the controller before the buffers it was
 * given go back. Well inside the 1 s call watchdog, so that a shadow's
 * restart and retry still fit in its client's call: a stalled device then
 * costs a restart, not the shadow (a 900 ms limit once had the watchdog
 * kill nvme_shadow under an overloaded host). */
#define NVME_STALL_NS 300000000ull

/* What a command completed with: the CQE's DW0 and status field. */
struct nvme_done {
	uint32_t dw0;
	uint16_t status; /* phase bit cleared */
};

/* One command slot of a queue: cid = slot | generation << 8. */
struct nvme_slot {
	uint16_t cid; /* the id in flight, or NVME_CID_FREE */
	uint16_t req; /* the caller's tag: which request it belongs to */
	struct nvme_done done;
};
#define NVME_CID_FREE 0xffff

struct nvme_queue {
	uint16_t id;
	uint16_t entries;
	volatile struct nvme_sqe *sq;
	volatile struct nvme_cqe *cq;
	uint64_t sq_bus, cq_bus;
	volatile uint32_t *sq_db, *cq_db;
	uint16_t sq_tail, rung_tail; /* written, and told to the controller */
	uint16_t cq_head;
	uint8_t phase;	   /* the phase tag a new completion carries (4.6.2) */
	uint8_t gen;	   /* advances per command, into the cid */
	uint16_t inflight; /* commands submitted and not yet completed */
	uint32_t unknown;  /* completions for command ids not in flight */
	uint64_t *prp;	   /* NVME_PRP_ENTRIES per slot, DMA memory */
	uint64_t prp_bus;
	struct nvme_slot *slots; /* entries - 1 of them: a full SQ keeps one gap */
	uint32_t busy;		 /* a thread owns the queue: nvme_queue_claim */
};

struct nvme_ctrl {
	volatile uint8_t *bar;
	uint64_t bar_size;
	uint64_t cap;
	uint32_t dstrd;
	uint64_t max_xfer; /* bytes per command: MDTS and the PRP list's reach */
	uint64_t lbas;	   /* the namespace's size in logical blocks */
	uint32_t lba_shift;
	bool vwc; /* a volatile write cache: Flush matters */
	struct nvme_queue admin;
	struct nvme_queue io[NVME_IO_QUEUES];
	uint32_t nio;
};

extern struct nvme_ctrl nvme;

/* nvme.c: the BlockDevice methods, and when this instance started (for its
 * one "serving" line, which times a restart). */
extern const struct BlockDevice_impl nvme_impl;
extern uint64_t nvme_started_ns;

/* nvme_ctrl.c: bring the controller up, the instance's start (setting
 * nvme_started_ns); 0, or a negative error after a log line naming the
 * reason (the domain then fails cleanly). */
long nvme_ctrl_start(void);
/* DMA memory: zeroed, physically contiguous; its bus address in *bus. */
void *nvme_dma(uint64_t bytes, uint64_t *bus);

/* nvme_queue.c */
/* Own one of the n queues at qs, whichever is free first; give it back. */
struct nvme_queue *nvme_queue_claim(struct nvme_queue *qs, uint32_t n);
void nvme_queue_release(struct nvme_queue *q);
long nvme_queue_init(struct nvme_queue *q, uint16_t id, uint16_t entries);
/* Put cmd (cid and PRPs filled in here) in q's SQ for request tag req;
 * data/len describe a physically contiguous buffer at bus address data,
 * which becomes PRP1 whatever len is (len 0: PRP1 alone, as for a queue's
 * base or no data at all). Rings no doorbell; waits for a free slot if
 * there is none. */
long nvme_queue_put(struct nvme_queue *q, struct nvme_sqe *cmd, uint64_t data, uint64_t len,
		    uint16_t req, void (*done)(void *ctx, uint16_t req, struct nvme_done d),
		    void *ctx);
/* Ring the SQ tail doorbell for everything put since the last ring. */
void nvme_queue_ring(struct nvme_queue *q);
/* Ring the doorbell for everything put since the last ring, then wait until
 * nothing is in flight, calling done for each completion. */
void nvme_queue_drain(struct nvme_queue *q,
		      void (*done)(void *ctx, uint16_t req, struct nvme_done d), void *ctx);
/* One admin command, synchronously: its completion. */
struct nvme_done nvme_admin(struct nvme_sqe *cmd, uint64_t data, uint64_t len);

/* The status field's meaning for a log line and a MAPLE error. */
long nvme_status_error(uint16_t status);

#endif
