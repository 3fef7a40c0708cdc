/*
 * membdev_initfail: membdev built to crash inside its own domain_main on a
 * schedule that survives its restarts: the schedule and a count of runs are
 * kept in a page of ramdisk0 it reserves (drivers/block/membdev/initfail.h), set
 * by the test before it creates the shadow. With period 2 every restart's
 * first start crashes and its second serves; with period 0 every start
 * after the first crashes. For the chaos ktests (kernel/ktest/
 * chaos_initfail.c) only.
 */
#define MEMBDEV_INITFAIL
#include "membdev.c"
