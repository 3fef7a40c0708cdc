/* maple-hosted's tests of domains creating and destroying domains, the
 * heap, ramdisk0 and membdev's recovery (tests_domains.c), which tests.c
 * runs each in a child of its own like every hosted test. */
#ifndef HOSTED_TESTS_DOMAINS_H
#define HOSTED_TESTS_DOMAINS_H

#include <stddef.h>

struct hosted_domain;

/* What a test returns when this machine cannot run it, with why naming
 * the reason (its SKIP line says it). */
#define HTEST_SKIP 1

struct hosted_named_test {
	const char *name;
	/* 0, or -1 with why: what happened, what was wanted; or HTEST_SKIP */
	int (*run)(char *why, size_t len);
	const char *needs; /* NULL, or what it needs protection keys for (its SKIP says so) */
};

#define HOSTED_DOMAIN_TESTS 15
extern const struct hosted_named_test hosted_domain_tests[HOSTED_DOMAIN_TESTS];

/* Write the printf-style reason into why; -1, what a failed test returns. */
int htest_fail(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Create `module` as the runtime does (the VM's kernel): the domain, or NULL
 * with why. */
struct hosted_domain *htest_create(const char *module, char *why, size_t len);
/* Destroy every domain, then: no domain, RRef, mapping in a domain slot,
 * waiting thread or continuation left; 0, or -1 with why. */
int htest_leak_check(char *why, size_t len);

/* From htest_capture_begin to htest_capture_end, stdout (domains' lines) and
 * stderr (the runtime's klog) go to one buffer, in order; 0, or -1 with
 * why. Then htest_has_line: whether a whole line of it matches the extended
 * regular expression pattern. */
int htest_capture_begin(char *why, size_t len);
void htest_capture_end(void);
int htest_has_line(const char *pattern);

#endif
