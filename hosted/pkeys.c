/*
 * pkeys: the protection-key layout of the hosted platform. Linux hands out
 * the lowest free key (mm/mprotect.c, mm_pkey_alloc), so a fresh process
 * that allocates in order gets 1, 2, 3, ... and the VM's numbers hold; the
 * check below refuses to go on if another allocation got there first,
 * because the gate compares PKRU values built from those numbers.
 */
#define _GNU_SOURCE
#include "pkeys.h"

#include <domain/lifecycle_lines.h>
#include <maple/abi.h>

#include <cpuid.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

/* CPUID leaf 7, subleaf 0, ECX (Intel SDM Vol. 2A, CPUID, Table 3-8). */
#define CPUID7_ECX_PKU	 (1u << 3)
#define CPUID7_ECX_OSPKE (1u << 4)

bool pkeys_available(char *why, size_t whylen)
{
	unsigned a, b, c, d;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(c & CPUID7_ECX_PKU)) {
		snprintf(why, whylen, "the CPU lacks PKU (CPUID.7.0:ECX bit 3 clear)");
		return false;
	}
	if (!(c & CPUID7_ECX_OSPKE)) {
		snprintf(why, whylen, "the kernel has not enabled PKU (CPUID.7.0:ECX.OSPKE clear)");
		return false;
	}
	int k = pkey_alloc(0, 0);
	if (k < 0) {
		snprintf(why, whylen, "pkey_alloc: %s", strerror(errno));
		return false;
	}
	pkey_free(k);
	return true;
}

static int alloc_expect(int want, const char *name, char *why, size_t whylen)
{
	int k = pkey_alloc(0, 0);
	if (k < 0) {
		snprintf(why, whylen, "pkey_alloc for %s: %s", name, strerror(errno));
		return -1;
	}
	if (k != want) {
		snprintf(why, whylen, "pkey_alloc gave key %d for %s, the VM's layout needs %d", k,
			 name, want);
		pkey_free(k);
		return -1;
	}
	return k;
}

/*
 * TRUSTED, SHARED and GATE_RO, and, for a moment, every domain key too:
 * pkey_alloc sets the new key's rights in the calling thread's PKRU to its
 * init value (mm/mprotect.c, arch_set_user_pkey_access), here 0 (allowed),
 * and pkey_free leaves PKRU alone. So the thread ends with PKRU 0 (every
 * key), the runtime's rights, without a WRPKRU of the runtime's own: the
 * process holds no unchecked one (hosted/audit.c). The domain keys are
 * free again for pkeys_domain, in the same order.
 */
int pkeys_layout(char *why, size_t whylen)
{
	if (alloc_expect(PKEY_TRUSTED, "TRUSTED", why, whylen) < 0 ||
	    alloc_expect(PKEY_SHARED, "SHARED", why, whylen) < 0 ||
	    alloc_expect(PKEY_GATE_RO, "GATE_RO", why, whylen) < 0)
		return -1;
	int k = PKEY_FIRST_DOMAIN;
	while (k < PKEY_COUNT && alloc_expect(k, "a domain", why, whylen) == k)
		k++;
	for (int i = PKEY_FIRST_DOMAIN; i < k; i++)
		pkey_free(i);
	return k == PKEY_COUNT ? 0 : -1;
}

int pkeys_domain(char *why, size_t whylen)
{
	int k = pkey_alloc(0, 0);
	if (k < 0 && errno == ENOSPC) { /* every domain key held: the VM's reason */
		lifecycle_no_key(why, whylen);
		return -1;
	}
	if (k < 0) {
		snprintf(why, whylen, "cannot allocate a protection key: %s", strerror(errno));
		return -1;
	}
	if (k < PKEY_FIRST_DOMAIN) {
		snprintf(why, whylen,
			 "pkey_alloc gave key %d below the domain keys (layout not set up)", k);
		pkey_free(k);
		return -1;
	}
	return k;
}

int pkeys_of_mapping(unsigned long addr)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	char line[512];
	int in = 0, key = -1;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			in = lo == addr;
		else if (in && sscanf(line, "ProtectionKey: %d", &key) == 1)
			break;
	}
	fclose(f);
	return key;
}
