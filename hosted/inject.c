/*
 * inject: striking a hosted domain while it runs, flipping its bits, and
 * noting when it failed (inject.h), for the fault campaign.
 *
 * HOW A STRIKE REACHES THE DOMAIN. The VM's `inject` rewrites the trap
 * frame of the next thread that returns to the domain's own code. Hosted,
 * a strike is synchronous, where the domain next runs its own code (it
 * was built when a signal that landed while the gate held PKRU_GATE killed
 * the process, on Linux before 6.12; the call watchdog, which must reach a
 * thread anywhere, uses one now): inject_strike takes execute permission
 * away from the domain's code pages (they stay readable, with the domain's
 * key), and the next instruction fetch there, by whichever thread runs
 * the domain's own code, even one spinning in a loop (mprotect's TLB
 * shootdown reaches it), is a SIGSEGV at that instruction with the
 * domain's rights: exactly the VM's "next thread inside". The fault
 * handler (entry.c) asks inject_fault, which gives the pages back their
 * rights and either points the context at the gate page's stub for the
 * fault (gate_fault_pf...: it faults there with the domain's rights, which
 * fails the domain as any fault does) or has the domain failed now (kill). The gate page and other
 * domains' code never fault on it: only this domain's pages change.
 *
 * A flip writes the runtime's way (it holds PKRU 0): a page that is not
 * writable is made writable, and never writable and executable at once
 * (the loader's invariant), for the one write; a thread that fetches
 * from it meanwhile faults and is told to run the instruction again.
 */
#define _GNU_SOURCE
#include "inject.h"

#include "gate.h"
#include "runtime.h"

#include <bench/fault_campaign.h>
#include <domain/gate_layout.h>
#include <maple/abi.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define PAGE	   4096ul
#define MAX_RANGES 16 /* mappings of one image: a domain has a few segments */
#define WHY_MAX	   160

struct range {
	uint64_t lo, hi;
	int prot;
};

/* The armed strike. The runtime thread arms it (state ARMING while it
 * changes the pages, ARMED once every code page has lost PROT_EXEC); a
 * faulting thread takes it (ARMED -> TAKEN with an atomic exchange, so one
 * thread takes it) and gives the pages back (IDLE once done). A thread that
 * faults on a page whose rights are changing (ARMING, TAKEN, or a flip's
 * page) waits for the change to end and runs its instruction again. */
enum { IDLE, ARMING, ARMED, TAKEN };
static struct {
	int state;
	int kind;
	unsigned id;
	int pkey;
	struct range code[MAX_RANGES];
	unsigned ncode;
} strike;

/* The page a flip is changing, or 0; the last page a flip changed, and
 * whether it is executable (its rights when they are not changing). */
static uint64_t flipping, flipped;
static int flipped_exec;
/* The instruction last run again after a refused fetch (inject_fault). */
static __thread uint64_t retried;

/* The rights of one domain's image pages, as /proc/self/maps showed them. */
static struct range snap[MAX_RANGES];
static unsigned nsnap;

uint64_t inject_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The mappings of [lo, hi) with their rights; how many, or -1. */
static int maps_of(uint64_t lo, uint64_t hi, struct range *out, unsigned max)
{
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return -1;
	char line[512];
	unsigned n = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long a, b;
		char perms[5];
		if (sscanf(line, "%lx-%lx %4s", &a, &b, perms) != 3 || b <= lo || a >= hi)
			continue;
		if (n == max) {
			n = max + 1;
			break;
		}
		out[n++] = (struct range){.lo = a < lo ? lo : a,
					  .hi = b > hi ? hi : b,
					  .prot = (perms[0] == 'r' ? PROT_READ : 0) |
						  (perms[1] == 'w' ? PROT_WRITE : 0) |
						  (perms[2] == 'x' ? PROT_EXEC : 0)};
	}
	fclose(f);
	return n > max ? -1 : (int)n;
}

static int protect(uint64_t lo, uint64_t len, int prot, int pkey)
{
	return pkey >= 0 ? pkey_mprotect((void *)lo, len, prot, pkey)
			 : mprotect((void *)lo, len, prot);
}

int inject_snapshot(const struct hosted_domain *d, char *why, size_t whylen)
{
	int n = maps_of(d->base, d->base + d->span, snap, MAX_RANGES);
	if (n < 0) {
		snprintf(why, whylen, "cannot read the mappings of %s from /proc/self/maps",
			 d->name);
		nsnap = 0;
		return -1;
	}
	nsnap = (unsigned)n;
	return 0;
}

int inject_page_is(uint64_t va, int kind)
{
	int want = kind == FAULT_FLIP_CODE ? PROT_EXEC : PROT_WRITE;
	for (unsigned i = 0; i < nsnap; i++)
		if (va >= snap[i].lo && va < snap[i].hi)
			return (snap[i].prot & want) != 0;
	return 0;
}

uint64_t inject_mapping_end(uint64_t va)
{
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return 0;
	char line[512];
	uint64_t end = 0;
	while (!end && fgets(line, sizeof line, f)) {
		unsigned long a, b;
		if (sscanf(line, "%lx-%lx", &a, &b) == 2 && va >= a && va < b)
			end = b;
	}
	fclose(f);
	return end;
}

/* Give the struck code pages their rights back. */
static void restore_code(void)
{
	for (unsigned i = 0; i < strike.ncode; i++)
		protect(strike.code[i].lo, strike.code[i].hi - strike.code[i].lo,
			strike.code[i].prot, strike.pkey);
}

/* Leaves the strike IDLE: one not taken is dropped (its pages given
 * back), one being taken is waited for. Only the thread that arms calls
 * it: the campaign's (faults.c), or a test's. */
void inject_cancel(void)
{
	int s = ARMED;
	if (__atomic_compare_exchange_n(&strike.state, &s, ARMING, 0, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE)) {
		restore_code();
		__atomic_store_n(&strike.state, IDLE, __ATOMIC_RELEASE);
	}
	while (__atomic_load_n(&strike.state, __ATOMIC_ACQUIRE) != IDLE)
		;
}

/*
 * THE INVARIANT: a strike changes only the pages of the domain its handle
 * names, for the whole change. Strikes are armed by a thread that does not
 * destroy domains (the campaign's), while the domain
 * thread may end the call, destroy the domain and place the slot's next
 * one at the same addresses: a strike armed from a stale copy of the
 * domain read the successor's mappings and took execution from them with
 * the old key, the same slot id, so the successor's next fetch failed it
 * (strike-at-a-destroyed-domain-leaves-its-successors-pages). So arming
 * looks the domain up by handle and changes its pages holding
 * teardown_lock, which teardown (domains.c) holds from dropping a strike
 * on the domain until its pages are unmapped and its generation moved on.
 * The domain thread takes it only there, and a thread holding it waits
 * for nothing the domain thread does under it (inject_cancel waits out a
 * TAKEN strike, which inject_fault gives back without the lock).
 */
static pthread_mutex_t teardown_lock = PTHREAD_MUTEX_INITIALIZER;

static int arm(uint64_t handle, int kind, char *why, size_t whylen)
{
	inject_cancel(); /* a strike not yet taken is replaced */
	const struct hosted_domain *d = hgate_domain(handle);
	if (!d) {
		snprintf(why, whylen, "no domain has handle %#lx: nothing struck",
			 (unsigned long)handle);
		return -1;
	}
	struct range r[MAX_RANGES];
	int n = maps_of(d->base, d->base + d->span, r, MAX_RANGES);
	if (n < 0) {
		__atomic_store_n(&strike.state, IDLE, __ATOMIC_RELEASE);
		snprintf(why, whylen, "cannot read the mappings of %s", d->name);
		return -1;
	}
	__atomic_store_n(&strike.state, ARMING, __ATOMIC_RELEASE);
	strike.kind = kind;
	strike.id = d->id;
	strike.pkey = d->pkey;
	strike.ncode = 0;
	for (int i = 0; i < n; i++)
		if (r[i].prot & PROT_EXEC)
			strike.code[strike.ncode++] = r[i];
	for (unsigned i = 0; i < strike.ncode; i++)
		if (protect(strike.code[i].lo, strike.code[i].hi - strike.code[i].lo,
			    strike.code[i].prot & ~PROT_EXEC, strike.pkey) < 0) {
			snprintf(why, whylen, "cannot take execution from %s's code: %s", d->name,
				 strerror(errno));
			restore_code();
			__atomic_store_n(&strike.state, IDLE, __ATOMIC_RELEASE);
			return -1;
		}
	if (!strike.ncode) {
		__atomic_store_n(&strike.state, IDLE, __ATOMIC_RELEASE);
		snprintf(why, whylen, "%s has no code pages", d->name);
		return -1;
	}
	__atomic_store_n(&strike.state, ARMED, __ATOMIC_RELEASE);
	return 0;
}

int inject_strike(uint64_t handle, int kind, char *why, size_t whylen)
{
	if (kind < FAULT_PF || kind > FAULT_KILL) {
		snprintf(why, whylen, "no strike of kind %d", kind);
		return -1;
	}
	pthread_mutex_lock(&teardown_lock);
	int rc = arm(handle, kind, why, whylen);
	pthread_mutex_unlock(&teardown_lock);
	return rc;
}

void inject_teardown_begin(const struct hosted_domain *d)
{
	pthread_mutex_lock(&teardown_lock);
	for (;;) {
		int s = __atomic_load_n(&strike.state, __ATOMIC_ACQUIRE);
		if (s == ARMING || s == TAKEN)
			continue; /* the armer changes the pages: wait for the end */
		if (s == IDLE || strike.id != d->id)
			return;
		if (__atomic_compare_exchange_n(&strike.state, &s, ARMING, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE)) {
			restore_code();
			__atomic_store_n(&strike.state, IDLE, __ATOMIC_RELEASE);
			return;
		}
	}
}

void inject_teardown_end(void)
{
	pthread_mutex_unlock(&teardown_lock);
}

int inject_armed(void)
{
	return __atomic_load_n(&strike.state, __ATOMIC_ACQUIRE) == ARMED;
}

static int in_code(uint64_t va)
{
	for (unsigned i = 0; i < strike.ncode; i++)
		if (va >= strike.code[i].lo && va < strike.code[i].hi)
			return 1;
	return 0;
}

/* The gate page's stub for a redirect: where the VM's inject_target points. */
static uint64_t stub(int kind)
{
	return runtime_gatepage()->fault[kind - FAULT_PF];
}

enum inject_take inject_fault(ucontext_t *uc, const siginfo_t *si)
{
	greg_t *g = uc->uc_mcontext.gregs;
	uint64_t addr = (uint64_t)si->si_addr, rip = (uint64_t)g[REG_RIP];
	/* Only an instruction fetch refused by the page's rights. */
	if (si->si_code != SEGV_ACCERR || addr != rip)
		return INJECT_NOT_OURS;
	/* Rights being changed come back first: a flip's page, struck pages
	 * being armed or given back. */
	uint64_t f;
	while ((f = __atomic_load_n(&flipping, __ATOMIC_ACQUIRE)) && rip - f < PAGE)
		;
	int s;
	while ((s = __atomic_load_n(&strike.state, __ATOMIC_ACQUIRE)) == ARMING || s == TAKEN)
		;
	if (s == ARMED && in_code(rip) &&
	    __atomic_compare_exchange_n(&strike.state, &s, TAKEN, 0, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE)) {
		int kind = strike.kind;
		struct hosted_domain *cur = hgate_current();
		restore_code();
		__atomic_store_n(&strike.state, IDLE, __ATOMIC_RELEASE);
		retried = 0;
		/* As the VM's inject: only where the struck domain's own code
		 * runs as itself. A domain that jumped into another's code (fetch
		 * is not governed by keys) is not the one struck; the strike is
		 * spent. */
		if (!cur || cur->id != strike.id)
			return INJECT_RETRY;
		if (kind == FAULT_KILL)
			return INJECT_KILL;
		g[REG_RIP] = (greg_t)stub(kind);
		return INJECT_REDIRECTED;
	}
	/*
	 * Not (or no longer) a strike: a fetch refused by rights the runtime
	 * was changing when it was made and has given back since (a flip's
	 * code page, struck pages given back by inject_cancel): run it again.
	 * Once: a page that really is not executable refuses the same fetch
	 * again, and that is the domain's own fault.
	 */
	uint64_t last = __atomic_load_n(&flipped, __ATOMIC_ACQUIRE);
	int ours = (last && rip - last < PAGE && flipped_exec) || in_code(rip);
	/* A strike armed meanwhile rewrote what in_code read: ask again. */
	if ((ours || __atomic_load_n(&strike.state, __ATOMIC_ACQUIRE) != s) && retried != rip) {
		retried = rip;
		return INJECT_RETRY;
	}
	retried = 0;
	return INJECT_NOT_OURS;
}

static int flip(const struct hosted_domain *d, uint64_t va, unsigned bit, char *why, size_t whylen)
{
	uint64_t page = va & ~(PAGE - 1);
	struct range r;
	if (bit > 7 || maps_of(page, page + PAGE, &r, 1) != 1) {
		snprintf(why, whylen, "%s: %#lx bit %u is not a mapped byte", d->name,
			 (unsigned long)va, bit);
		return -1;
	}
	int writable = r.prot & PROT_WRITE;
	if (!writable) {
		__atomic_store_n(&flipping, page, __ATOMIC_RELEASE);
		flipped_exec = (r.prot & PROT_EXEC) != 0;
		__atomic_store_n(&flipped, page, __ATOMIC_RELEASE);
		if (protect(page, PAGE, PROT_READ | PROT_WRITE, d->pkey) < 0) {
			__atomic_store_n(&flipping, 0, __ATOMIC_RELEASE);
			snprintf(why, whylen, "cannot make %#lx writable: %s", (unsigned long)page,
				 strerror(errno));
			return -1;
		}
	}
	__atomic_xor_fetch((uint8_t *)va, (uint8_t)(1u << bit), __ATOMIC_SEQ_CST);
	int rc = writable ? 0 : protect(page, PAGE, r.prot, d->pkey);
	__atomic_store_n(&flipping, 0, __ATOMIC_RELEASE);
	if (rc < 0) {
		snprintf(why, whylen, "cannot give %#lx its rights back: %s", (unsigned long)page,
			 strerror(errno));
		return -1;
	}
	return 0;
}

/* Under teardown_lock, as a strike (THE INVARIANT above): the campaign's
 * thread flips while the domain thread may destroy the instance and place
 * the next in its slot, at the same addresses; a flip from a stale copy
 * changed the successor's byte, its page made writable with the old key
 * (flip-at-a-destroyed-domain-leaves-its-successors-pages). */
int inject_flip(uint64_t handle, uint64_t va, unsigned bit, char *why, size_t whylen)
{
	pthread_mutex_lock(&teardown_lock);
	const struct hosted_domain *d = hgate_domain(handle);
	int rc = -1;
	if (!d)
		snprintf(why, whylen, "no domain has handle %#lx: nothing flipped",
			 (unsigned long)handle);
	else if (va - d->base >= MAPLE_DOMAIN_SLOT)
		snprintf(why, whylen, "%s: %#lx is outside its slot", d->name, (unsigned long)va);
	else
		rc = flip(d, va, bit, why, whylen);
	pthread_mutex_unlock(&teardown_lock);
	return rc;
}

/* The first failure of the last instance that failed in each slot. The
 * handler writes an entry (ns last, released); the runtime thread reads
 * it. */
static struct {
	uint64_t handle, ns;
	char why[WHY_MAX];
} failures[GATE_MAX_DOMAINS];

void inject_note_failed(const struct hosted_domain *d, const char *why)
{
	if (!d || d->id >= GATE_MAX_DOMAINS)
		return;
	uint64_t h = hgate_handle(d);
	if (__atomic_load_n(&failures[d->id].ns, __ATOMIC_ACQUIRE) && failures[d->id].handle == h)
		return; /* its first failure is the one that counts */
	__atomic_store_n(&failures[d->id].ns, 0, __ATOMIC_RELEASE);
	size_t n = strnlen(why, WHY_MAX - 1);
	memcpy(failures[d->id].why, why, n);
	failures[d->id].why[n] = 0;
	failures[d->id].handle = h;
	__atomic_store_n(&failures[d->id].ns, inject_now_ns(), __ATOMIC_RELEASE);
}

int inject_failed(uint64_t h, uint64_t *ns, char *why, size_t whylen)
{
	uint64_t id = h & HANDLE_ID_MASK;
	uint64_t t =
		id < GATE_MAX_DOMAINS ? __atomic_load_n(&failures[id].ns, __ATOMIC_ACQUIRE) : 0;
	if (!t || failures[id].handle != h)
		return 0;
	*ns = t;
	if (why)
		snprintf(why, whylen, "%s", failures[id].why);
	return 1;
}
