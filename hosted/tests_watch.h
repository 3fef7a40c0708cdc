/* maple-hosted's tests of the call watchdog (tests_watch.c): the VM's
 * kernel/ktest/watchdog.c cases that hosted can run, and rogue case 10,
 * which tests.c runs each in a child of its own like every hosted test. */
#ifndef HOSTED_TESTS_WATCH_H
#define HOSTED_TESTS_WATCH_H

#include "tests_domains.h"

#define HOSTED_WATCH_TESTS 16
extern const struct hosted_named_test hosted_watch_tests[HOSTED_WATCH_TESTS];

#endif
