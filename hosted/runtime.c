/*
 * runtime: the order in which a maple-hosted process becomes the VM's
 * address space. The key layout comes first, because pkey_alloc hands out
 * the lowest free key and the gate's PKRU values are built from TRUSTED 1,
 * SHARED 2 and GATE_RO 3 (pkeys.c). Then the gate page (GATE_RO), the
 * gate's TRUSTED data (gate.c: the domain table at MAPLE_TRUSTED_VA, this
 * thread's gate pages at %gs), the exchange heap (the VM's xheap/rref.c on
 * hosted/heap.c: its TRUSTED header table and SHARED chunks), and last the
 * trusted entry, whose seccomp filter forbids the host system calls that setting up
 * needs from nowhere but domain and gate addresses.
 */
#define _GNU_SOURCE
#include "runtime.h"

#include "entry.h"
#include "gate.h"
#include "gatepage.h"
#include "pkeys.h"

#include <xheap/rref.h>

#include <string.h>

static struct gatepage gate;

const struct gatepage *runtime_gatepage(void)
{
	return &gate;
}

int runtime_fault(const char *name)
{
	static const char *const names[] = {"pf", "gp", "ud", "de", "pk"};
	_Static_assert(sizeof names / sizeof names[0] == sizeof gate.fault / sizeof gate.fault[0],
		       "a name per fault stub, in GATEPAGE_FAULTS order");
	for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
		if (!strcmp(name, names[i]))
			return i;
	return -1;
}

int runtime_start(int use_keys, char *why, size_t whylen)
{
	if (use_keys && pkeys_layout(why, whylen) < 0)
		return -1;
	if (gatepage_map(GATEPAGE_KERNEL_ELF, use_keys, &gate, why, whylen) < 0 ||
	    hgate_init(use_keys, gate.resume, why, whylen) < 0)
		return -1;
	rref_init();
	return entry_init(use_keys, why, whylen);
}
