/*
 * What the nvme_quiesce test image (nvme_quiesce.c) shares with the
 * quiescing test that drives it (kernel/ktest/nvme_quiesce.c): plain
 * numbers, so kernel code can include it. Its stats() queues reads of
 * NVME_FLOOD_XFER bytes each into a DMA buffer of NVME_FLOOD_BYTES of its
 * own, rings the doorbell and returns the buffer's bus address at once,
 * with the reads in flight.
 */
#ifndef DRIVERS_NVME_FLOOD_H
#define DRIVERS_NVME_FLOOD_H

#define NVME_FLOOD_BYTES (1u << 20)
#define NVME_FLOOD_XFER	 (128u << 10)

#endif
