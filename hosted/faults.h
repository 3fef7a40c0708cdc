/* maple-hosted's fault campaign command (faults.c; docs/bench-faults.md). */
#ifndef HOSTED_FAULTS_H
#define HOSTED_FAULTS_H

/* The window a fault has to crash membdev, hosted: the VM's 200 ms is
 * TCG's time, in which a native run serves many times the batches. */
#define FAULTS_HOSTED_WINDOW 20

#include <bench/fault_campaign.h>

#include <stdint.h>

#include "loader.h"

/* Flip one bit of d where fault_place says (faults_flip's work, on the
 * campaign's copy of membdev or on a test's domain, which must not go away
 * meanwhile); 1 with *off and *bit, or 0. */
long faults_flip_in(const struct hosted_domain *d, int kind, const struct fault_params *p,
		    uint64_t *off, unsigned *bit);

/* The campaign teardown's last step: destroy the workload's membdev,
 * after its shadow and client (the VM's faults_workload_destroy). */
void faults_destroy_drivers(void);

/* maple-hosted faults [N [SEED [WINDOW_MS [FLIP_AT BIT]]]]: the campaign,
 * its lines on stderr (bench/fault_campaign.h); 0 if every fault was
 * injected and nothing leaked, 1 if not, 2 bad usage or a host error. */
int hosted_faults(int n, char **args);

#endif
