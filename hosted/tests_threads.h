/* maple-hosted's tests that need domain threads running at once
 * (tests_threads.c), which tests.c runs each in a child of its own like
 * every hosted test. */
#ifndef HOSTED_TESTS_THREADS_H
#define HOSTED_TESTS_THREADS_H

#include "tests_domains.h"

#define HOSTED_THREAD_TESTS 11
extern const struct hosted_named_test hosted_thread_tests[HOSTED_THREAD_TESTS];

#endif
