/*
 * hog's interface, for the resource-limit tests (kernel/ktest/limits.c): a
 * domain that takes memory and threads on request, and one that keeps
 * allocating from its own heap and serving calls while another hogs.
 * Plain numbers, so kernel tests can include it too.
 */
#ifndef DOMAINS_HOG_H
#define DOMAINS_HOG_H

/* Its methods (grow, grown, spawn, churn, release, alive, mix, worker):
 * domains/idl/hog.idl. */
#include <idl/hog_methods.h>

#define HOG_WAIT 0 /* spawn mode: run until release() */
#define HOG_EXIT 1 /* spawn mode: exit at once */

#endif
