/*
 * membdev_forgetful: membdev built to acknowledge one write without storing
 * it, the 300th write request each instance serves: a driver that runs on
 * but wrong, which no crash reveals. For the hosted test that the shadow's
 * end-to-end checks find it, restart it and redo the write
 * (docs/recovery.md, "End-to-end integrity"). For tests only.
 */
#define MEMBDEV_FORGET_NTH 300
#include "membdev.c"
