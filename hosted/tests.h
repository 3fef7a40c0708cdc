/* maple-hosted's test command (tests.c). */
#ifndef HOSTED_TESTS_H
#define HOSTED_TESTS_H

/* Run the named tests (all when n is 0), each in its own child process,
 * printing one `hosted-test: NAME ok|FAIL reason|SKIP reason` line each
 * and a summary. 0 if none failed, 1 if one did, 2 for an unknown name. */
int hosted_tests(int n, char **names);

#endif
