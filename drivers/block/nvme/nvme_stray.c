/*
 * nvme_stray: the NVMe driver that puts a command with a command id it does
 * not track (0xfffe) ahead of every batch, so that the controller completes
 * a command id that is not in flight: the driver must log it and ignore it,
 * and the batch must still succeed (kernel/ktest/nvme.c).
 */
#define NVME_STRAY_CID 0xfffe
#include "nvme.c"
