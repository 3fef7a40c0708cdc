/* maple-hosted's tests of the handler entries' proof of their thread
 * (tests_prove.c), which tests.c runs each in a child of its own like
 * every hosted test. */
#ifndef HOSTED_TESTS_PROVE_H
#define HOSTED_TESTS_PROVE_H

#include "tests_domains.h"

#define HOSTED_PROVE_TESTS 6
extern const struct hosted_named_test hosted_prove_tests[HOSTED_PROVE_TESTS];

#endif
