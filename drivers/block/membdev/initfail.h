/*
 * What the membdev_initfail test image (membdev_initfail.c) shares with the
 * kernel test that drives it (kernel/ktest/chaos_initfail.c): plain numbers,
 * so kernel code can include it. The image reserves the last page of its
 * device (ramdisk0) for two words; init() never lets a block reach that
 * page. The device outlives every instance, so the words carry the crash
 * schedule across the restarts a shadow makes.
 */
#ifndef DOMAINS_MEMBDEV_INITFAIL_H
#define DOMAINS_MEMBDEV_INITFAIL_H

#define MEMBDEV_INITFAIL_RESERVED 4096 /* bytes at the device's end */
/* Word indices in the reserved page. */
#define MEMBDEV_INITFAIL_RUNS	0 /* domain_main runs so far; each adds one */
#define MEMBDEV_INITFAIL_PERIOD 1 /* run n serves if n % period == 0 (0: only run 0) */
/* Every other run crashes in domain_main writing here: a null pointer's
 * field, in the unmapped first page, so a #PF (not-present write, user). */
#define MEMBDEV_INITFAIL_FAULT_VA 0x18

#endif
