/*
 * nvme_notready: the NVMe driver seeing a controller whose CSTS.RDY never
 * follows CC.EN (NVMe 1.4 3.1.6), through a copy of its registers with
 * CAP.TO of 500 ms (nvme_ctrl.c, NVME_FAKE_CSTS), for the refusal test in
 * kernel/ktest/nvme.c.
 */
#define NVME_FAKE_CSTS 0
#include "nvme_ctrl.c"
