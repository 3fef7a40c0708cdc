/* maple-hosted's tests of domains creating and destroying domains, the
 * heap, ramdisk0 and membdev's recovery (tests_domains.c), which tests.c
 * runs each in a child of its own like every hosted test. */
#ifndef HOSTED_TESTS_DOMAINS_H
#define HOSTED_TESTS_DOMAINS_H

#include <stddef.h>

struct hosted_named_test {
	const char *name;
	int (*run)(char *why, size_t len); /* 0, or -1 with why: what happened, what was wanted */
};

#define HOSTED_DOMAIN_TESTS 11
extern const struct hosted_named_test hosted_domain_tests[HOSTED_DOMAIN_TESTS];

#endif
