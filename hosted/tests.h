/* maple-hosted's test command: the harness, the list of tests and the
 * helpers every test file shares (tests.c). */
#ifndef HOSTED_TESTS_H
#define HOSTED_TESTS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct hosted_domain;

/* Run the named tests (all when n is 0), each in its own child process,
 * printing one `hosted-test: NAME ok|FAIL reason|SKIP reason` line each
 * and a summary. 0 if none failed, 1 if one did, 2 for an unknown name. */
int hosted_tests(int n, char **names);

/* Room for a test's reason or an upcall's outcome line. */
#define HTEST_WHY 512
/* What a test returns when this machine cannot run it (a CPU feature it
 * lacks), its reason in why: its line is SKIP with that reason. */
#define HTEST_SKIP 2

/* Run fn of the initialised domain d with arguments a as an upcall and
 * describe the outcome in out: "NAME returned R" or "NAME failed: WHY". */
void htest_outcome(struct hosted_domain *d, uint64_t fn, const long a[4], char *out, size_t len);
/* A runtime thread with a thread slot of its own that makes one upcall,
 * fn(a) in d, and describes its outcome in got as htest_outcome does (or
 * why the thread could not set up). htest_thread_start takes the slot and
 * starts it (0, or -1 with why); htest_thread_join waits for it to end. */
struct htest_thread {
	struct hosted_domain *d;
	uint64_t fn;
	long a[4];
	long slot;
	pthread_t id;
	char got[HTEST_WHY];
};
int htest_thread_start(struct htest_thread *t, char *why, size_t len);
void htest_thread_join(struct htest_thread *t);
/* Whether s matches the extended regular expression pattern (unanchored). */
int htest_matches(const char *pattern, const char *s);
/* The harness's other helpers, for the tests in every file. */
#include "loader.h"
#include "tests_domains.h"

#define HOSTED_INJECT_TESTS 11
extern const struct hosted_named_test inject_tests[HOSTED_INJECT_TESTS];

/* Load and initialise image `name` as domain id; 0, or -1 with why. */
int htest_start(const char *name, unsigned id, struct hosted_domain *d, char *why, size_t len);
/* Hello answers greet(5) with 5 + its id, with its own rights again after
 * whatever the previous upcall did; 0, or -1 with why. */
int htest_hello_answers(struct hosted_domain *hello, char *why, size_t len);
/* No continuation left, the runtime's own rights (PKRU 0), RFLAGS.AC clear
 * and its own GS base; 0, or -1 with why. */
int htest_runtime_clean(char *why, size_t len);
/* Whether the tests run under protection keys. */
int htest_keys(void);

#endif
