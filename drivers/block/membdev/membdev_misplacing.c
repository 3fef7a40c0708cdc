/*
 * membdev_misplacing: membdev built to store one write over the block
 * before it, the 321st write request each instance serves, and acknowledge
 * it: a driver that writes the wrong block. In a workload that writes every
 * block in order, 32 a batch, that is block 320, the first of its batch,
 * over block 319, acknowledged a batch earlier. For the hosted test that
 * the shadow's end-to-end checks redo the write and restore block 319 from
 * their mirror (docs/recovery.md, "End-to-end integrity"). Tests only.
 */
#define MEMBDEV_MISPLACE_NTH 321
#include "membdev.c"
