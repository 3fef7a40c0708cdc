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
 * have protection keys (CPUID.7.0:ECX.PKU/OSPKE, then pkey_alloc itself),
 * or when Linux does not deliver a signal onto a signal stack whose key
 * the interrupted rights deny (before 6.12: maple-hosted's signal stacks
 * are the runtime's, key 0, which no domain's rights reach; docs/
 * platform.md), found by trying it in a child process. */
bool pkeys_available(char *why, size_t whylen);

/* The probe's verdict on that delivery: arrived 1 is true; 0 is false
 * with why naming this kernel's release and the reason; -1 (the probe
 * could not run, why says so) is false. Apart so that the refusal's line
 * is tested on a kernel that delivers (hosted/tests_sigframe.c). */
bool pkeys_judge_delivery(int arrived, char *why, size_t whylen);

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
