/*
 * nvme_cfs: the NVMe driver seeing a controller in fatal status (CSTS.CFS
 * set, NVMe 1.4 3.1.6) through a copy of its registers (nvme_ctrl.c,
 * NVME_FAKE_CSTS), for the refusal test in kernel/ktest/nvme.c.
 */
#define NVME_FAKE_CSTS (NVME_CSTS_CFS | NVME_CSTS_RDY)
#include "nvme_ctrl.c"
