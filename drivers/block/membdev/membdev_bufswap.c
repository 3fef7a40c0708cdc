/*
 * membdev_bufswap: membdev built with a thread that, whenever none of its
 * submits runs, keeps pointing the buf word of each request from the 9th on
 * of the last large batch the shadow lent it at the buffer of that batch's
 * first request: a wrong driver's writes into the shadow's copy of a batch
 * after its call returned (drivers/block/bdev_shadow/bdev_check.c,
 * set_put). It serves every request honestly. For the hosted test that the
 * shadow frees no buffer it still uses. For tests only.
 */
#define MEMBDEV_BUFSWAP
#include "membdev.c"
