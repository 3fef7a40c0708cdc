/*
 * The hosted runtime's side of the gate (gate.h), the counterpart of the VM
 * kernel's kernel/domain/gate.c over the same layout (domain/gate_layout.h)
 * and the same gate code (gatepage.c maps it): the gate finds this thread's
 * pages at %gs exactly as in the VM, so a cross-domain call from a domain
 * runs gate.S unchanged, with no help from the runtime.
 *
 * THE INVARIANT, as in the VM: the gate's data (the domain table, the gate
 * stack and continuations; the RRef header table is the exchange heap's,
 * hosted/heap.c) carries key TRUSTED and
 * the thread's GATE_RO page key GATE_RO, so no domain's rights can write
 * them (PKRU_DOMAIN denies TRUSTED and write-disables GATE_RO). The runtime
 * writes them with PKRU 0, only between upcalls or from a signal handler
 * of the thread itself.
 *
 * Unlike the VM, the gate must never make this process take a signal while
 * it holds PKRU_GATE: Linux before 6.12 writes the signal frame with the
 * interrupted PKRU, and PKRU_GATE denies the SHARED key of the signal
 * stack (entry.c), so the process would be killed. The gate's one system
 * call, SYS_GATE_STACK, is therefore never needed: hgate_add gives the
 * thread its stack in every domain before anything can call it.
 */
#define _GNU_SOURCE
#include "gate.h"

#include "pkeys.h"

#include <domain/domain.h>
#include <domain/gate_layout.h>
#include <domain/names.h>
#include <domain/watchdog_rule.h>
#include <maple/abi.h>
#include <maple/rref_abi.h>
#include <xheap/rref.h>

#include <asm/prctl.h>
#include <cpuid.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <x86intrin.h>

#define PAGE 4096ul
/* The thread's stack in a domain's slot: where the VM puts thread slot 0's
 * (slot_stack_lo: the upper half of the first DOMAIN_STACK_SLOT; the lower
 * half is guard), clear of the heap window SYS_HEAP_GROW takes from. */
#define STACK_SIZE    DOMAIN_STACK_SIZE
#define DOMTAB_BYTES  ((sizeof(struct gate_domain) * GATE_MAX_DOMAINS + PAGE - 1) & ~(PAGE - 1))
#define SLOT_VA	      GATE_THREADS_VA				   /* thread slot 0 */
#define SLOT_TT_BYTES (GATE_STACK_SIZE + GATE_THREAD_TRUSTED_SIZE) /* gate stack + TRUSTED */

static struct gate_domain *domtab;
static struct gate_thread_ro *ro;
static struct gate_thread_trusted *tt;
static struct hosted_domain *domains[GATE_MAX_DOMAINS];
/* Each slot's generation: a slot's first domain has 0 (its handle is its
 * id), and every removal moves it on, so a handle of a destroyed domain
 * never names the next one in its slot (the gate compares GD_GEN). */
static uint32_t generation[GATE_MAX_DOMAINS];
static uint64_t resume_va;
static int keys;

void *hgate_map(uint64_t va, uint64_t bytes, int key, const char *what, char *why, size_t whylen)
{
	void *at = mmap((void *)va, bytes, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (at != (void *)va) {
		snprintf(why, whylen, "cannot map %s at %#lx: %s", what, (unsigned long)va,
			 at == MAP_FAILED ? strerror(errno) : "placed elsewhere");
		if (at != MAP_FAILED)
			munmap(at, bytes);
		return NULL;
	}
	if (keys && pkey_mprotect(at, bytes, PROT_READ | PROT_WRITE, key) < 0) {
		snprintf(why, whylen, "cannot give %s key %d: %s", what, key, strerror(errno));
		munmap(at, bytes);
		return NULL;
	}
	return at;
}

/*
 * What the gate and hosted_enter zero on every switch (gate_layout.h,
 * ZERO_VECTORS): Linux keeps vector state on for every process, so every
 * register the CPU has and Linux turned on (XCR0: bit 2 AVX, bits 5-7
 * AVX-512's opmask and upper ZMM state; Intel SDM Vol. 1, 13.3), read with
 * XGETBV where CPUID.1:ECX.OSXSAVE (bit 27) says it may be. Where
 * CPUID.(EAX=0DH,ECX=1):EAX bit 2 says XGETBV reads XINUSE too, and AVX is
 * on (VZEROALL), only what is in use: VECTORS_INUSE. x86-64 always has x87
 * and SSE.
 */
static uint64_t vector_level(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)))
		return VECTORS_SSE;
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	if ((lo & XFEATURE_AVX) && __get_cpuid_count(0xd, 1, &a, &b, &c, &d) && (a & 4))
		return VECTORS_INUSE;
	if ((lo & XFEATURES_AVX512) == XFEATURES_AVX512)
		return VECTORS_AVX512;
	return lo & XFEATURE_AVX ? VECTORS_AVX : VECTORS_SSE;
}

int hgate_init(int use_keys, uint64_t gate_resume, char *why, size_t whylen)
{
	keys = use_keys;
	resume_va = gate_resume;
	if (!(domtab = hgate_map(GATE_DOMTAB_VA, DOMTAB_BYTES, PKEY_TRUSTED, "the domain table",
				 why, whylen)) ||
	    !(ro = hgate_map(SLOT_VA + GATE_SLOT_RO_OFF, PAGE, PKEY_GATE_RO, "the GATE_RO page",
			     why, whylen)))
		return -1;
	uint8_t *stack = hgate_map(SLOT_VA + GATE_SLOT_STACK_OFF, SLOT_TT_BYTES, PKEY_TRUSTED,
				   "the gate stack", why, whylen);
	if (!stack)
		return -1;
	tt = (struct gate_thread_trusted *)(stack + GATE_STACK_SIZE);
	uint64_t tt_va = SLOT_VA + GATE_SLOT_TRUSTED_OFF;
	*ro = (struct gate_thread_ro){
		.self = SLOT_VA + GATE_SLOT_RO_OFF,
		.expected_pkru = 0, /* the runtime's rights */
		.domain = 0,
		.trusted = tt_va,
		.depth_limit = tt_va + offsetof(struct gate_thread_trusted, conts[GATE_MAX_DEPTH]),
		.gate_stack = SLOT_VA + GATE_SLOT_STACK_OFF + GATE_STACK_SIZE,
		.clear_vectors = vector_level(), /* no domain's vector registers reach another */
	};
	tt->cont_top = tt_va + offsetof(struct gate_thread_trusted, conts);
	/* The gate reads its pages at %gs; glibc uses only %fs on x86-64. */
	if (syscall(SYS_arch_prctl, ARCH_SET_GS, ro->self) < 0) {
		snprintf(why, whylen, "cannot set the GS base: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int hgate_add(struct hosted_domain *d, char *why, size_t whylen)
{
	if (!d->id || d->id >= GATE_MAX_DOMAINS || domains[d->id]) {
		snprintf(why, whylen, "%s: domain id %u is not free", d->name, d->id);
		return -1;
	}
	uint64_t lo = slot_stack_lo(d->base, 0); /* thread slot 0: the one that enters */
	if (!hgate_map(lo, STACK_SIZE, d->pkey, "a stack in the domain's slot", why, whylen))
		return -1;
	d->stack = lo;
	d->gen = generation[d->id];
	domains[d->id] = d;
	struct gate_domain *gd = &domtab[d->id];
	gd->gen = d->gen;
	/* A new domain has made and taken no calls, whatever its slot's last
	 * domain did (the console's `domains` and the strike plans count them). */
	gd->calls = gd->calls_out = 0;
	gd->pkru = d->pkey >= 0 ? PKRU_DOMAIN(d->pkey) : 0;
	gd->nmethods = 0;
	tt->domain_sp[d->id] = lo + STACK_SIZE;
	__atomic_store_n(&gd->state, GATE_DOMAIN_RUNNING, __ATOMIC_RELEASE);
	return 0;
}

uint64_t hgate_remove(struct hosted_domain *d)
{
	if (d->id >= GATE_MAX_DOMAINS || domains[d->id] != d)
		return 0;
	__atomic_store_n(&domtab[d->id].state, GATE_DOMAIN_FREE, __ATOMIC_RELEASE);
	tt->domain_sp[d->id] = 0;
	uint64_t n = rref_reclaim(d->id); /* what it owns goes with it, as at the VM's destroy */
	domains[d->id] = NULL;
	generation[d->id] = handle_next_gen(generation[d->id]);
	munmap((void *)d->stack, STACK_SIZE);
	d->stack = 0;
	return n;
}

uint64_t hgate_handle(const struct hosted_domain *d)
{
	return handle_make(d->id, d->gen);
}

struct hosted_domain *hgate_domain(uint64_t handle)
{
	struct hosted_domain *d = domains[handle_slot(handle)];
	return d && handle_names(handle, d->id, d->gen) ? d : NULL;
}

uint64_t hgate_slot_handle(unsigned id)
{
	return id < GATE_MAX_DOMAINS ? handle_make(id, (uint32_t)__atomic_load_n(&domtab[id].gen,
										 __ATOMIC_ACQUIRE))
				     : 0;
}

struct hosted_domain *hgate_slot(unsigned id)
{
	return id < GATE_MAX_DOMAINS ? domains[id] : NULL;
}

int hgate_fail(struct hosted_domain *d)
{
	struct gate_domain *gd = &domtab[d->id];
	if (__atomic_load_n(&gd->state, __ATOMIC_SEQ_CST) != GATE_DOMAIN_RUNNING)
		return 0;
	__atomic_store_n(&gd->state, GATE_DOMAIN_FAILED, __ATOMIC_SEQ_CST);
	return 1;
}

uint64_t hgate_active(const struct hosted_domain *d)
{
	return __atomic_load_n(&domtab[d->id].active, __ATOMIC_SEQ_CST);
}

void hgate_inject(struct hosted_domain *d, uint64_t at)
{
	struct gate_domain *gd = &domtab[d->id];
	for (uint64_t i = 0; i < gd->nmethods; i++)
		gd->methods[i] = at;
}

struct hosted_domain *hgate_current(void)
{
	return domains[ro->domain % GATE_MAX_DOMAINS];
}

uint32_t hgate_expected_pkru(void)
{
	return (uint32_t)ro->expected_pkru;
}

void hgate_export(struct hosted_domain *d, const uint64_t *methods, unsigned n)
{
	struct gate_domain *gd = &domtab[d->id];
	__atomic_store_n(&gd->nmethods, 0, __ATOMIC_RELEASE);
	memcpy(gd->methods, methods, n * sizeof *methods);
	memcpy(d->methods, methods, n * sizeof *methods);
	d->nmethods = n;
	__atomic_store_n(&gd->nmethods, n, __ATOMIC_RELEASE);
}

/* names_resolve's view of the table: a domain in it runs or has failed. */
static const char *slot_name(void *ctx, uint32_t id, enum domain_state *state)
{
	(void)ctx;
	if (!domains[id])
		return NULL;
	*state = domtab[id].state == GATE_DOMAIN_RUNNING ? DOMAIN_RUNNING : DOMAIN_FAILING;
	return domains[id]->name;
}

struct hosted_domain *hgate_find(const char *name_or_id, long *why, unsigned *count)
{
	uint32_t id = names_resolve(name_or_id, slot_name, NULL, why, count);
	return id ? domains[id] : NULL;
}

long hgate_lookup(const char *name)
{
	long why;
	struct hosted_domain *d = hgate_find(name, &why, NULL);
	if (!d)
		return why;
	return hgate_state(d) == GATE_DOMAIN_RUNNING ? (long)hgate_handle(d) : -MAPLE_ESRCH;
}

int hgate_owns(const struct hosted_domain *d, uint64_t p, uint64_t n)
{
	/* Each length is compared before it is subtracted, so nothing wraps. */
	uint64_t heap = d->base + DOMAIN_HEAP_OFF,
		 heap_len = d->heap_next ? d->heap_next - heap : 0;
	return (n <= d->span && p >= d->base && p - d->base <= d->span - n) ||
	       (d->stack && n <= STACK_SIZE && p >= d->stack && p - d->stack <= STACK_SIZE - n) ||
	       (n <= heap_len && p >= heap && p - heap <= heap_len - n) ||
	       (d->device_va && n <= d->device_bytes && p >= d->device_va &&
		p - d->device_va <= d->device_bytes - n);
}

uint64_t hgate_calls(const struct hosted_domain *d)
{
	return __atomic_load_n(&domtab[d->id].calls, __ATOMIC_ACQUIRE);
}

uint64_t hgate_state(const struct hosted_domain *d)
{
	return __atomic_load_n(&domtab[d->id].state, __ATOMIC_ACQUIRE);
}

/* Continuations on the thread's stack; the gate and this file write the
 * top, and no domain can (TRUSTED). */
static uint64_t depth(void)
{
	return (tt->cont_top - ro->trusted - offsetof(struct gate_thread_trusted, conts)) /
	       sizeof(struct continuation);
}

int hgate_keys(void)
{
	return keys;
}

const struct gate_thread_trusted *hgate_thread_conts(uint64_t *tt_va)
{
	*tt_va = ro->trusted;
	return tt;
}

unsigned hgate_depth(void)
{
	return (unsigned)depth();
}

/* Undo the innermost continuation, as the VM's pop_one does. */
static void pop_one(void)
{
	struct continuation *c = &tt->conts[depth() - 1];
	/* RRefs lent to the call go back to their owners; moved ones stay
	 * with the callee. */
	if (c->kind == CONT_XCALL)
		for (int i = 0; i < 4; i++)
			if (c->word & XCALL_BORROW(i))
				rref_end_borrow(c->args[i]);
	tt->domain_sp[c->callee % GATE_MAX_DOMAINS] = c->callee_sp;
	tt->domain_sp[c->caller % GATE_MAX_DOMAINS] = c->caller_sp;
	ro->domain = c->caller;
	ro->expected_pkru = c->caller_pkru;
	tt->cont_top -= sizeof(struct continuation);
	__atomic_sub_fetch(&domtab[c->callee % GATE_MAX_DOMAINS].active, 1, __ATOMIC_RELEASE);
}

/* Set by hgate_next_upcall_is_thread, taken by the next push. */
static int next_is_thread;

void hgate_next_upcall_is_thread(int yes)
{
	next_is_thread = yes;
}

uint64_t hgate_upcall_push(struct hosted_domain *d, long *err, uint64_t *refused)
{
	int thread = next_is_thread;
	next_is_thread = 0;
	uint64_t n = depth();
	struct gate_domain *gd = &domtab[d->id];
	if (n >= GATE_MAX_DEPTH) {
		*err = -MAPLE_EDEPTH;
		return 0;
	}
	__atomic_add_fetch(&gd->active, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&gd->state, __ATOMIC_SEQ_CST) != GATE_DOMAIN_RUNNING) {
		__atomic_sub_fetch(&gd->active, 1, __ATOMIC_RELEASE);
		*err = -MAPLE_EDEAD;
		return 0;
	}
	uint64_t caller = ro->domain % GATE_MAX_DOMAINS, sp = tt->domain_sp[d->id];
	/* The runtime writes the return slot at sp - 8 with its own rights
	 * (entry_upcall), and sp came from TRUSTED memory that the gate fills
	 * from a caller's %rsp: it must lie on d's own thread stack, as the
	 * VM's gate_upcall checks (kernel/domain/gate.c, on_thread_stack), or
	 * a domain that called with %rsp aimed elsewhere has the runtime write
	 * there (another domain's heap: seen in
	 * gate-upcall-refuses-a-domain-stack-pointer-outside-the-thread-stack). */
	if (sp - 8 < d->stack || sp > d->stack + STACK_SIZE || sp % 8) {
		__atomic_sub_fetch(&gd->active, 1, __ATOMIC_RELEASE);
		*err = -MAPLE_ECALLEE;
		*refused = sp;
		return 0;
	}
	tt->conts[n] = (struct continuation){
		.kind = thread ? CONT_THREAD : CONT_UPCALL,
		.caller = caller,
		.callee = d->id,
		.callee_gen = gd->gen,
		.caller_pkru = ro->expected_pkru,
		.callee_sp = sp,
		.caller_sp = tt->domain_sp[caller],
		.start_tsc = __rdtsc(),
	};
	/* Released: the watchdog thread reads the continuation it names. */
	__atomic_add_fetch(&tt->cont_top, sizeof(struct continuation), __ATOMIC_RELEASE);
	__atomic_add_fetch(&gd->calls, 1, __ATOMIC_RELAXED);
	ro->domain = d->id;
	ro->expected_pkru = gd->pkru;
	return sp;
}

int hgate_upcall_pop(void)
{
	uint64_t n = depth();
	uint64_t kind = n ? tt->conts[n - 1].kind : 0;
	if ((kind != CONT_UPCALL && kind != CONT_THREAD) || tt->conts[n - 1].callee != ro->domain)
		return 0;
	pop_one();
	return 1;
}

int hgate_unwind(unsigned floor, uint64_t *rip, uint64_t *rsp, uint32_t *pkru, long *err)
{
	uint64_t id = ro->domain % GATE_MAX_DOMAINS;
	if (id)
		__atomic_store_n(&domtab[id].state, GATE_DOMAIN_FAILED, __ATOMIC_SEQ_CST);
	/* The outermost call into a domain that no longer runs: everything
	 * above it ran on its behalf and goes with it (unwind_failed). */
	uint64_t n = depth(), k = floor;
	if (n <= floor)
		return 1; /* no call to unwind: back to the runtime */
	while (k < n && domtab[tt->conts[k].callee % GATE_MAX_DOMAINS].state == GATE_DOMAIN_RUNNING)
		k++;
	if (k == n)
		k = n - 1; /* the failed domain is always the innermost callee */
	struct continuation c = tt->conts[k];
	/* The VM's error for the caller: the failed callee's own errno
	 * (MAPLE_ETIMEDOUT from the watchdog), else -MAPLE_ECALLEE. */
	struct hosted_domain *dead = hgate_slot((unsigned)(c.callee % GATE_MAX_DOMAINS));
	*err = dead && dead->fail_errno ? -dead->fail_errno : -MAPLE_ECALLEE;
	while (depth() > k)
		pop_one();
	/* The time the failed call took is not its callers' (the VM's
	 * watchdog_credit_failed_call, by the shared rule). */
	uint64_t now = __rdtsc();
	watchdog_discount(tt, ro->trusted, now > c.start_tsc ? now - c.start_tsc : 0);
	if (c.kind != CONT_XCALL)
		return 1;
	*rip = resume_va;
	*rsp = c.caller_rsp;
	*pkru = (uint32_t)c.caller_pkru;
	return 0;
}
