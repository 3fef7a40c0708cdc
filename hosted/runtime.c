/*
 * runtime: the order in which a maple-hosted process becomes the VM's
 * address space. The key layout comes first, because pkey_alloc hands out
 * the lowest free key and the gate's PKRU values are built from TRUSTED 1,
 * SHARED 2 and GATE_RO 3 (pkeys.c). Then the gate page (GATE_RO), the
 * gate's domain table at GATE_DOMTAB_VA (MAPLE_TRUSTED_VA, key TRUSTED:
 * no domain's rights reach it, as in the VM; the rogue cases that read
 * and write TRUSTED aim there; cross-domain calls, not built yet, will
 * fill it), and last the trusted entry,
 * whose seccomp filter forbids the host system calls that setting up
 * needs from nowhere but domain and gate addresses.
 */
#define _GNU_SOURCE
#include "runtime.h"

#include "entry.h"
#include "gatepage.h"
#include "pkeys.h"

#include <domain/gate_layout.h>
#include <maple/abi.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define DOMTAB_BYTES                                                                               \
	((sizeof(struct gate_domain) * GATE_MAX_DOMAINS + GATE_PAGE - 1) & ~(size_t)(GATE_PAGE - 1))

static int map_domtab(int use_keys, char *why, size_t whylen)
{
	void *at = mmap((void *)GATE_DOMTAB_VA, DOMTAB_BYTES, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (at != (void *)GATE_DOMTAB_VA) {
		snprintf(why, whylen, "cannot map the gate's domain table at %#lx: %s",
			 (unsigned long)GATE_DOMTAB_VA,
			 at == MAP_FAILED ? strerror(errno) : "placed elsewhere");
		if (at != MAP_FAILED)
			munmap(at, DOMTAB_BYTES);
		return -1;
	}
	if (use_keys && pkey_mprotect(at, DOMTAB_BYTES, PROT_READ | PROT_WRITE, PKEY_TRUSTED) < 0) {
		snprintf(why, whylen, "cannot give the domain table key TRUSTED: %s",
			 strerror(errno));
		munmap(at, DOMTAB_BYTES);
		return -1;
	}
	return 0;
}

int runtime_start(int use_keys, char *why, size_t whylen)
{
	if (use_keys && pkeys_layout(why, whylen) < 0)
		return -1;
	if (gatepage_map(GATEPAGE_KERNEL_ELF, use_keys, why, whylen) < 0 ||
	    map_domtab(use_keys, why, whylen) < 0)
		return -1;
	return entry_init(use_keys, why, whylen);
}
