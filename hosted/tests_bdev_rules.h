/* maple-hosted's tests of a client that breaks a batch's rules against
 * bdev_shadow (tests_bdev_rules.c; rogue's cases in
 * domains/test/rogue/blocks_cases.h), which tests_domains.c's table lists
 * and tests.c runs each in a child of its own. Each 0, or -1 with why. */
#ifndef HOSTED_TESTS_BDEV_RULES_H
#define HOSTED_TESTS_BDEV_RULES_H

#include <stddef.h>

/* A request handle that points at an unmapped chunk of the shared heap. */
int htest_bdev_unmapped_request(char *why, size_t len);
/* A batch that names one block twice (two writes; a write and a read). */
int htest_bdev_block_twice(char *why, size_t len);
/* The device sized anew by one thread while another submits. */
int htest_bdev_resize_race(char *why, size_t len);
/* ... and sized again as it is, which must fail no batch. */
int htest_bdev_same_size_again(char *why, size_t len);
/* A client rewriting its lent requests during submit, beside a good one. */
int htest_bdev_rewritten_requests(char *why, size_t len);
/* A client repeating init more times than the shadow's replay log holds. */
int htest_bdev_inits_many(char *why, size_t len);
int htest_bdev_hoarded_copies(char *why, size_t len);
int htest_bdev_read_write_race(char *why, size_t len);
/* A driver rewriting the buf words of the shadow's copies after its calls. */
int htest_bdev_swapped_buffers(char *why, size_t len);
/* Clients naming the shadow's own buffers in their requests. */
int htest_bdev_names_own_buffers(char *why, size_t len);
/* A client failing while its threads are inside the shadow. */
int htest_bdev_client_dies_inside(char *why, size_t len);

#endif
