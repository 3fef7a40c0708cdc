/* maple-hosted's tests of membdev and ramdisk0 (tests_membdev.c), which
 * tests_domains.c's table lists and tests.c runs each in a child of its
 * own. Each 0, or -1 with why (what happened, what was wanted). */
#ifndef HOSTED_TESTS_MEMBDEV_H
#define HOSTED_TESTS_MEMBDEV_H

#include <stddef.h>

/* membdev crashed under bdev_shadow during the verified workload, killed
 * inside its own call, and without a shadow (the control). */
int htest_membdev_recovery(char *why, size_t len);
int htest_membdev_kill_inside(char *why, size_t len);
int htest_membdev_no_shadow(char *why, size_t len);
/* A membdev that acknowledges a write without storing it, found by the
 * shadow's end-to-end checks, restarted and the write redone. */
int htest_membdev_forgetful(char *why, size_t len);
/* ... and one that stores a write over another block, restored from the
 * shadow's mirror. */
int htest_membdev_misplacing(char *why, size_t len);
int htest_membdev_nomirror(char *why, size_t len);
/* ... and one that rewrites the slots of the shadow's read-back queue. */
int htest_membdev_scribbling(char *why, size_t len);
/* ramdisk0's one running holder, no map of it while membdev is down, and
 * its holder destroyed with a call out. */
int htest_membdev_one_holder(char *why, size_t len);
int htest_membdev_map_while_down(char *why, size_t len);
int htest_membdev_holder_destroyed_with_call_out(char *why, size_t len);
/* The fault campaign's teardown destroys a failed membdev its failed
 * shadow left. */
int htest_membdev_teardown_destroys_a_failed_driver(char *why, size_t len);

#endif
