/*
 * membdev_scribbling: membdev built to rewrite, as it returns from each
 * instance's 10th read-back batch from the shadow, every slot of the deque
 * it was lent with a handle into an unmapped chunk of the shared heap: a
 * wrong driver's stray writes into the shadow's own read-back queue. For
 * the hosted test that the shadow takes no pointer from that queue, finds
 * it rewritten, restarts the driver and redoes the batch
 * (drivers/block/bdev_shadow/bdev_check.c). For tests only.
 */
#define MEMBDEV_SCRIBBLE_NTH 10
#include "membdev.c"
