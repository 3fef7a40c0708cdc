/* maple-hosted's tests of domains creating and destroying domains and the
 * heap (tests_domains.c), with the table that lists membdev's and
 * ramdisk0's too (tests_membdev.c), which tests.c runs each in a child of
 * its own like every hosted test; and the helpers the test files share. */
#ifndef HOSTED_TESTS_DOMAINS_H
#define HOSTED_TESTS_DOMAINS_H

#include <stddef.h>
#include <stdint.h>

struct hosted_domain;

struct hosted_named_test {
	const char *name;
	int (*run)(char *why, size_t len); /* 0, or -1 with why: what happened, what was wanted */
	const char *needs; /* NULL, or what it needs protection keys for (its SKIP says so) */
};

#define HOSTED_DOMAIN_TESTS 31
extern const struct hosted_named_test hosted_domain_tests[HOSTED_DOMAIN_TESTS];

/* Write the printf-style reason into why; -1, what a failed test returns. */
int htest_fail(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Create `module` as the runtime does (the VM's kernel): the domain, or NULL
 * with why. */
struct hosted_domain *htest_create(const char *module, char *why, size_t len);
/* The running domain named name, or NULL. */
struct hosted_domain *htest_by_name(const char *name);
/* Call method m of d with a0, a1, a2: 0 with *r, or -1 with why. */
int htest_call(struct hosted_domain *d, unsigned m, long a0, long a1, long a2, long *r, char *why,
	       size_t len);
/* rogue.run(number, target): its result; *bad = 1 (and why) if the call
 * itself failed. */
long htest_rogue_run(struct hosted_domain *rogue, long number, uint64_t target, char *why,
		     size_t len, int *bad);
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
/* How many lines of the captured output begin with prefix. */
unsigned htest_count_lines(const char *prefix);
/* The captured output, NUL-terminated (for a failure's reason). */
const char *htest_captured(void);

#endif
