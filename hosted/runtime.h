/*
 * One maple-hosted process's runtime (runtime.c): the key layout, the gate
 * page, the gate's TRUSTED data (gate.c) and the trusted entry,
 * set up in that order, once, before any domain is loaded.
 */
#ifndef HOSTED_RUNTIME_H
#define HOSTED_RUNTIME_H

#include "gatepage.h"

#include <stddef.h>

/* With use_keys, the VM's key layout first (pkeys_layout). 0, or -1 with
 * why filled (the step and its reason). */
int runtime_start(int use_keys, char *why, size_t whylen);

/* runtime_start without keys, the gate page's WRPKRUs made NOPs (where:
 * *nops) before anything can enter a domain: `maple-hosted bench
 * --nop-wrpkru`'s measurement mode, on any CPU, in a process that never
 * allocates a key (runtime.c states the rule). 0, or -1 with why filled. */
int runtime_start_nop_wrpkru(struct gatepage_nops *nops, char *why, size_t whylen);

/* Where the gate page lies and its symbols the runtime uses (gatepage.h). */
const struct gatepage *runtime_gatepage(void);

/* The index in runtime_gatepage()->fault of the fault named `name` (one of
 * GATEPAGE_FAULTS, the VM's `inject` names), or -1. */
int runtime_fault(const char *name);

#endif
