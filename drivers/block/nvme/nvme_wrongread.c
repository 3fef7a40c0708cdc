/*
 * nvme_wrongread: the NVMe driver built to return one read with its first
 * byte inverted and report it done, the 300th read request each instance
 * serves (in bdclient's sweep through nvme_shadow_wrongread, which reads
 * back no writes: block 299, written before), a driver that runs on but
 * wrong. For the VM test that the shadow's checksums alone find it, restart
 * it and redo the read (kernel/ktest/nvme.c; docs/recovery.md, "End-to-end
 * integrity"). Tests only.
 */
#define NVME_WRONG_READ_NTH 300
#include "nvme.c"
