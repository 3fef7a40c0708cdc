/*
 * The kernel's record of the latest domain failures: each domain_fail that
 * fails a running domain appends its handle, name and reason, numbered in
 * order. A domain that fails inside its own domain_main is destroyed by the
 * create that ran it before anyone else can look at it; its reason stays
 * readable here (the chaos test of driver starts checks each one).
 */
#ifndef CORE_FAILURES_H
#define CORE_FAILURES_H

#include <domain/domain.h>
#include <stdbool.h>
#include <stdint.h>

#define FAILURES_KEPT 256 /* the latest ones; older records are overwritten */

struct failure {
	uint64_t seq; /* 1, 2, ...: the order of the failures */
	uint64_t handle;
	char name[MAPLE_DOMAIN_NAME_MAX];
	char reason[sizeof((struct domain *)0)->fail_reason];
};

/* d has just gone from running to failing: record it (domain_fail). */
void failures_record(const struct domain *d);
/* Failures recorded so far: the seq of the latest, 0 if none. */
uint64_t failures_count(void);
/* Copy failure number seq to out: false if it has not happened yet or was
 * overwritten (more than FAILURES_KEPT ago). */
bool failures_get(uint64_t seq, struct failure *out);

#endif
