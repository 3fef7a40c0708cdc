/*
 * The hosted tests of signal frames (tests_sigframe.c): where they lie,
 * which ones a handler takes, and the kernel they need.
 */
#ifndef HOSTED_TESTS_SIGFRAME_H
#define HOSTED_TESTS_SIGFRAME_H

#include "tests_domains.h"

#define HOSTED_SIGFRAME_TESTS 7
extern const struct hosted_named_test hosted_sigframe_tests[HOSTED_SIGFRAME_TESTS];

#endif
