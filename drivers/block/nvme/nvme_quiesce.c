/*
 * nvme_quiesce: the NVMe driver built for the quiescing test (kernel/ktest/
 * nvme_quiesce.c): its stats() floods the controller with large reads into
 * a DMA buffer of the driver's own and returns without waiting for them
 * (drivers/block/nvme/flood.h), so that the test can fail the driver with
 * DMA in flight and reuse the buffer's frames at once.
 */
#define NVME_FLOOD
#include "nvme.c"
