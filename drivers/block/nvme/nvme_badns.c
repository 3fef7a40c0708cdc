/*
 * nvme_badns: the NVMe driver whose commands for block 100 name namespace
 * 0xfffffffe, which the controller refuses with a status error, so that the
 * test of per-request device errors (kernel/ktest/nvme.c) sees one request
 * of a batch fail with -MAPLE_EIO while its neighbour succeeds.
 */
#define NVME_BAD_NSID_BLOCK 100
#include "nvme.c"
