/* maple-hosted's test command (tests.c). */
#ifndef HOSTED_TESTS_H
#define HOSTED_TESTS_H

#include <stddef.h>
#include <stdint.h>

struct hosted_domain;

/* Run the named tests (all when n is 0), each in its own child process,
 * printing one `hosted-test: NAME ok|FAIL reason|SKIP reason` line each
 * and a summary. 0 if none failed, 1 if one did, 2 for an unknown name. */
int hosted_tests(int n, char **names);

/* Run fn of the initialised domain d with arguments a as an upcall and
 * describe the outcome in out: "NAME returned R" or "NAME failed: WHY". */
void htest_outcome(struct hosted_domain *d, uint64_t fn, const long a[4], char *out, size_t len);
/* Whether s matches the extended regular expression pattern (unanchored). */
int htest_matches(const char *pattern, const char *s);

#endif
