/*
 * nvme_forgetful: the NVMe driver built to acknowledge one write without
 * issuing it, the 300th write request each instance serves: a driver that
 * runs on but wrong, which no crash reveals. For the VM test that the
 * shadow's end-to-end checks find it, restart it and redo the write
 * (kernel/ktest/nvme.c; docs/recovery.md, "End-to-end integrity"). Tests only.
 */
#define NVME_FORGET_NTH 300
#include "nvme.c"
