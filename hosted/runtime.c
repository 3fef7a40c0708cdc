/*
 * runtime: the order in which a maple-hosted process becomes the VM's
 * address space. First the audit (audit.c): the process must hold no
 * PKRU-writing instruction but the runtime's audited sites before any
 * domain can jump to one. The key layout comes next, because pkey_alloc hands out
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

#include "audit.h"
#include "entry.h"
#include "gate.h"
#include "gatepage.h"
#include "pkeys.h"

#include <xheap/rref.h>

#include <stdio.h>
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

/* The setup of runtime_start; with nops, the gate page's WRPKRUs become
 * NOPs between its mapping and the gate's data, before any domain exists. */
static int start(int use_keys, struct gatepage_nops *nops, char *why, size_t whylen)
{
	if (audit_process(0, why, whylen) < 0 || (use_keys && pkeys_layout(why, whylen) < 0))
		return -1;
	if (gatepage_map(GATEPAGE_KERNEL_ELF, use_keys, &gate, why, whylen) < 0 ||
	    (nops && gatepage_nop_wrpkru(&gate, nops, why, whylen) < 0) ||
	    hgate_init(use_keys, gate.resume, why, whylen) < 0)
		return -1;
	rref_init();
	return entry_init(use_keys, why, whylen);
}

int runtime_start(int use_keys, char *why, size_t whylen)
{
	return start(use_keys, NULL, why, whylen);
}

/*
 * THE RULE of the NOP-WRPKRU mode: it is a measurement, never isolation. A
 * gate without WRPKRUs switches no rights, so it may run only where no
 * rights are there to switch: in a process that never allocates a key (no
 * pkeys_layout: use_keys is 0 throughout, so every page keeps key 0, which
 * every PKRU Linux gives a thread allows, and the GATE_RO pages are plain
 * read-write memory), and before the gate's data or any domain exists
 * (start makes the NOPs right after mapping the page). On a CPU with
 * protection keys that is the same process as on one without: no WRPKRU
 * of the gate executes, so which PKRU the CPU holds never changes, and the
 * keyed run the figures are compared with is another process
 * (docs/bench-xcall.md). Only `maple-hosted bench --nop-wrpkru` calls this
 * (bench.c); main.c refuses --nop-wrpkru for every other command, and
 * bench prints the sites it changed and that nothing is isolated.
 */
int runtime_start_nop_wrpkru(struct gatepage_nops *nops, char *why, size_t whylen)
{
	return start(0, nops, why, whylen);
}
