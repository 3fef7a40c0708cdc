/* maple-hosted's tests of the create sequence it shares with the VM
 * (tests_lifecycle.c), which tests.c runs each in a child of its own. */
#ifndef HOSTED_TESTS_LIFECYCLE_H
#define HOSTED_TESTS_LIFECYCLE_H

#include "tests_domains.h"

#define HOSTED_LIFECYCLE_TESTS 4
extern const struct hosted_named_test hosted_lifecycle_tests[HOSTED_LIFECYCLE_TESTS];

#endif
