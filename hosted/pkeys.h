/*
 * The linux platform's protection keys: whether this CPU and kernel give a
 * process PKU, and the VM's key layout (maple/abi.h: TRUSTED, SHARED,
 * GATE_RO, then one key per domain) rebuilt with pkey_alloc.
 */
#ifndef HOSTED_PKEYS_H
#define HOSTED_PKEYS_H

#include <stdbool.h>
#include <stddef.h>

/* Fills why with the reason and returns false when the process cannot
 * have protection keys (CPUID.7.0:ECX.PKU/OSPKE, then pkey_alloc itself). */
bool pkeys_available(char *why, size_t whylen);

/* Allocate TRUSTED, SHARED and GATE_RO, which must come out as the VM's
 * numbers, leaving the calling thread with PKRU 0 (every key: each key's
 * rights set by pkey_alloc, none by a WRPKRU); 0, or -1 with why filled. */
int pkeys_layout(char *why, size_t whylen);

/* The next domain key (PKEY_FIRST_DOMAIN and up, in order), or -1 with why. */
int pkeys_domain(char *why, size_t whylen);

/* The protection key Linux reports (/proc/self/smaps, ProtectionKey) for
 * the mapping that starts at addr, or -1 where it reports none. */
int pkeys_of_mapping(unsigned long addr);

#endif
