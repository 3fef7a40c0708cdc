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
#include "watchdog.h"

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
#include <pthread.h>
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
#define SLOT_TT_BYTES (GATE_STACK_SIZE + GATE_THREAD_TRUSTED_SIZE) /* gate stack + TRUSTED */

static struct gate_domain *domtab;
/* This thread's gate pages (hgate_thread_attach): every thread that enters
 * domains has a thread slot of its own, as in the VM. */
static __thread struct gate_thread_ro *ro;
static __thread struct gate_thread_trusted *tt;
static __thread unsigned my_slot;
/*
 * THE INVARIANT of the tables below (domain threads run concurrently,
 * syscalls.c): table_lock orders every change to domains[], generation[]
 * and the thread slots (which are taken, and the stack each taken slot
 * has in each domain), so a domain is added with a stack for every thread
 * that may call it and removed with none left, and a thread slot is taken
 * with a stack in every domain. It is never held across an upcall or
 * while a domain runs, and nothing under it takes another lock but the
 * exchange heap's (rref_reclaim: table_lock, then rref's heap_lock).
 * Readers that hold no lock read only what cannot go while they look: a
 * thread's own gate pages, the domain it is in (its call holds `active`,
 * which a destroy waits for), and the domain table's words, atomically.
 */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hosted_domain *domains[GATE_MAX_DOMAINS];
/* Each slot's generation: a slot's first domain has 0 (its handle is its
 * id), and every removal moves it on, so a handle of a destroyed domain
 * never names the next one in its slot (the gate compares GD_GEN). */
static uint32_t generation[GATE_MAX_DOMAINS];
/* Thread slots taken (their threads' gate pages in use) and mapped (gate
 * pages there: kept when a thread ends, for the slot's next thread, so
 * the watchdog may read any mapped slot's continuations without a lock). */
static uint8_t slot_taken[GATE_MAX_THREADS], slot_mapped[GATE_MAX_THREADS];
static pid_t slot_tid[GATE_MAX_THREADS]; /* its thread's, once attached (hgate_busy_slot) */
/* Which thread slots have a stack in which domain. A slot's stacks stay
 * when its thread ends, for its next thread (a domain's stack holds only
 * that domain's data), and go with their domain (hgate_remove, under the
 * lock inject.c's flips take): a stack the fault campaign aims at stays
 * mapped while it may flip there. */
static uint8_t stack_mapped[GATE_MAX_THREADS][GATE_MAX_DOMAINS];
static uint64_t resume_va;
static int keys;

static uint64_t slot_va(unsigned slot)
{
	return GATE_THREADS_VA + (uint64_t)slot * GATE_THREAD_SLOT;
}

static struct gate_thread_trusted *slot_tt(unsigned slot)
{
	return (struct gate_thread_trusted *)(slot_va(slot) + GATE_SLOT_TRUSTED_OFF);
}

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

/* The state components Linux turned on (XCR0; Intel SDM Vol. 1, 13.3),
 * read with XGETBV where CPUID.1:ECX.OSXSAVE (bit 27) says it may be; else
 * x87 and SSE, which x86-64 always has. */
uint64_t hgate_xcr0(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)))
		return XFEATURE_X87 | XFEATURE_SSE;
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

/*
 * The XCR0 components no domain can carry anything in across a call
 * without ZERO_VECTORS: PKRU (9), which the gate writes itself, and MPX's
 * bound registers and configuration (3, 4), which Linux may leave on in
 * XCR0 for its guests: with BNDCFGU.EN 0 every MPX instruction is a NOP
 * (Intel SDM Vol. 1, 17.3), and only XRSTOR writes BNDCFGU, which nothing
 * a domain can run contains (the loader's scan, hosted/audit.c).
 */
#define XFEATURES_INERT (0x08 | 0x10 | 0x200)
/* What ZERO_VECTORS zeroes at some level (gate_layout.h). */
#define XFEATURES_ZEROED                                                                           \
	(XFEATURE_X87 | XFEATURE_SSE | XFEATURE_AVX | XFEATURES_AVX512 | XFEATURES_AMX)

int hgate_vectors_covered(uint64_t xcr0, uint64_t level, char *why, size_t whylen)
{
	/* THE INVARIANT (ZERO_VECTORS): no domain's register state reaches
	 * another. A state component the macro does not know (APX's %r16-31,
	 * bit 19, which Linux 6.16 and later turn on where the CPU has it:
	 * the gate zeroes only the sixteen legacy registers) would cross every
	 * call and return, so a CPU whose XCR0 enables one is refused rather
	 * than run. */
	uint64_t unknown = xcr0 & ~(uint64_t)(XFEATURES_ZEROED | XFEATURES_INERT);
	if (unknown) {
		snprintf(why, whylen,
			 "XCR0 %#lx enables state components %#lx that the gate does not zero "
			 "(gate_layout.h, ZERO_VECTORS): a domain's registers there would cross "
			 "every call",
			 (unsigned long)xcr0, (unsigned long)unknown);
		return -1;
	}
	/* Only VECTORS_INUSE releases AMX's tile state, so a CPU that enables
	 * AMX in XCR0 without XGETBV(1) is refused, not run with TILECFG
	 * crossing every call. */
	if ((xcr0 & XFEATURES_AMX) && level != VECTORS_INUSE) {
		snprintf(why, whylen,
			 "XCR0 enables AMX (%#lx) but XGETBV cannot read XINUSE: the gate could "
			 "not release a domain's tile configuration",
			 (unsigned long)xcr0);
		return -1;
	}
	return 0;
}

/*
 * What the gate and hosted_enter zero on every switch (gate_layout.h,
 * ZERO_VECTORS): Linux keeps vector state on for every process, so every
 * register the CPU has and Linux turned on (XCR0: bit 2 AVX, bits 5-7
 * AVX-512's opmask and upper ZMM state, bits 17-18 AMX). Where
 * CPUID.(EAX=0DH,ECX=1):EAX bit 2 says XGETBV reads XINUSE too, and AVX is
 * on (VZEROALL), only what is in use: VECTORS_INUSE, the one level that
 * releases AMX's tile state (hgate_init refuses AMX without it).
 */
static uint64_t vector_level(void)
{
	unsigned a, b, c, d;
	uint64_t lo = hgate_xcr0();
	if ((lo & XFEATURE_AVX) && __get_cpuid_count(0xd, 1, &a, &b, &c, &d) && (a & 4))
		return VECTORS_INUSE;
	if ((lo & XFEATURES_AVX512) == XFEATURES_AVX512)
		return VECTORS_AVX512;
	return lo & XFEATURE_AVX ? VECTORS_AVX : VECTORS_SSE;
}

/* Map thread slot `slot`'s gate pages if they never were; table_lock held. */
static int map_slot(unsigned slot, char *why, size_t whylen)
{
	if (slot_mapped[slot])
		return 0;
	uint64_t va = slot_va(slot);
	if (!hgate_map(va + GATE_SLOT_RO_OFF, PAGE, PKEY_GATE_RO, "a GATE_RO page", why, whylen))
		return -1;
	if (!hgate_map(va + GATE_SLOT_STACK_OFF, SLOT_TT_BYTES, PKEY_TRUSTED, "a gate stack", why,
		       whylen)) {
		munmap((void *)(va + GATE_SLOT_RO_OFF), PAGE);
		return -1;
	}
	slot_mapped[slot] = 1;
	return 0;
}

/* Unmap slot's stack in d (if it has one there); lock held. */
static void unmap_stack(unsigned slot, const struct hosted_domain *d)
{
	if (!slot_mapped[slot])
		return; /* no gate pages, so no stack either */
	slot_tt(slot)->domain_sp[d->id] = 0;
	if (stack_mapped[slot][d->id])
		munmap((void *)slot_stack_lo(d->base, slot), STACK_SIZE);
	stack_mapped[slot][d->id] = 0;
}

/* Give slot a stack in d (thread slot's place in d's slot, as the VM's
 * slot_stack_lo, under d's key), or its old one there; lock held. 0, or
 * -1 with why. */
static int map_stack(unsigned slot, const struct hosted_domain *d, char *why, size_t whylen)
{
	uint64_t lo = slot_stack_lo(d->base, slot);
	if (!stack_mapped[slot][d->id] &&
	    !hgate_map(lo, STACK_SIZE, d->pkey, "a stack in the domain's slot", why, whylen))
		return -1;
	stack_mapped[slot][d->id] = 1;
	slot_tt(slot)->domain_sp[d->id] = lo + STACK_SIZE;
	return 0;
}

long hgate_slot_take(char *why, size_t whylen)
{
	pthread_mutex_lock(&table_lock);
	unsigned slot = 0;
	while (slot < GATE_MAX_THREADS && slot_taken[slot])
		slot++;
	long rc = slot;
	if (slot == GATE_MAX_THREADS) {
		snprintf(why, whylen, "all %d thread slots are taken", GATE_MAX_THREADS);
		rc = -MAPLE_EAGAIN; /* the VM's gate_thread_alloc */
	} else if (map_slot(slot, why, whylen) < 0) {
		rc = -MAPLE_ENOMEM;
	} else {
		struct gate_thread_trusted *t = slot_tt(slot);
		memset(t, 0, sizeof *t);
		t->cont_top = slot_va(slot) + GATE_SLOT_TRUSTED_OFF +
			      offsetof(struct gate_thread_trusted, conts);
		for (unsigned id = 1; id < GATE_MAX_DOMAINS && rc >= 0; id++)
			if (domains[id] && map_stack(slot, domains[id], why, whylen) < 0)
				rc = -MAPLE_ENOMEM;
		if (rc >= 0) /* else the stacks mapped stay for the slot's next thread */
			__atomic_store_n(&slot_taken[slot], 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&table_lock);
	return rc;
}

int hgate_thread_attach(unsigned slot, char *why, size_t whylen)
{
	uint64_t va = slot_va(slot), tt_va = va + GATE_SLOT_TRUSTED_OFF;
	ro = (struct gate_thread_ro *)(va + GATE_SLOT_RO_OFF);
	tt = slot_tt(slot);
	my_slot = slot;
	__atomic_store_n(&slot_tid[slot], gettid(), __ATOMIC_RELAXED);
	*ro = (struct gate_thread_ro){
		.self = va + GATE_SLOT_RO_OFF,
		.expected_pkru = 0, /* the runtime's rights */
		.domain = 0,
		.trusted = tt_va,
		.depth_limit = tt_va + offsetof(struct gate_thread_trusted, conts[GATE_MAX_DEPTH]),
		.gate_stack = va + GATE_SLOT_STACK_OFF + GATE_STACK_SIZE,
		.clear_vectors = vector_level(), /* no domain's vector registers reach another */
	};
	/* The gate reads its pages at %gs; glibc uses only %fs on x86-64. */
	if (syscall(SYS_arch_prctl, ARCH_SET_GS, ro->self) < 0) {
		snprintf(why, whylen, "cannot set the GS base: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void hgate_slot_give_back(unsigned slot)
{
	pthread_mutex_lock(&table_lock);
	struct gate_thread_trusted *t = slot_tt(slot);
	/* Its thread enters no domain any more: its counts go to the domain
	 * table, under the lock hgate_calls sums under, so each call is summed
	 * once, from the slot or from the table. */
	for (unsigned id = 1; id < GATE_MAX_DOMAINS; id++) {
		domtab[id].ended_calls += t->calls[id];
		domtab[id].ended_calls_out += t->calls_out[id];
	}
	memset(t->calls, 0, sizeof t->calls);
	memset(t->calls_out, 0, sizeof t->calls_out);
	memset(t->domain_sp, 0, sizeof t->domain_sp); /* the stacks stay (stack_mapped) */
	__atomic_store_n(&t->cont_top,
			 slot_va(slot) + GATE_SLOT_TRUSTED_OFF +
				 offsetof(struct gate_thread_trusted, conts),
			 __ATOMIC_RELEASE);
	__atomic_store_n(&slot_taken[slot], 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&table_lock);
}

void hgate_thread_detach(void)
{
	hgate_slot_give_back(my_slot);
	ro = NULL;
	tt = NULL;
}

unsigned hgate_stack_tops(const struct hosted_domain *d, uint64_t *tops, unsigned max)
{
	unsigned n = 0;
	pthread_mutex_lock(&table_lock);
	for (unsigned slot = 0; slot < GATE_MAX_THREADS && n < max; slot++)
		if (domains[d->id] && domains[d->id]->gen == d->gen && stack_mapped[slot][d->id])
			tops[n++] = slot_stack_lo(d->base, slot) + STACK_SIZE;
	pthread_mutex_unlock(&table_lock);
	return n;
}

unsigned hgate_slots_taken(void)
{
	unsigned n = 0;
	for (unsigned slot = 0; slot < GATE_MAX_THREADS; slot++)
		n += __atomic_load_n(&slot_taken[slot], __ATOMIC_ACQUIRE);
	return n;
}

unsigned hgate_thread_slot(void)
{
	return my_slot;
}

pid_t hgate_slot_tid(unsigned slot)
{
	return slot < GATE_MAX_THREADS ? __atomic_load_n(&slot_tid[slot], __ATOMIC_RELAXED) : 0;
}

int hgate_init(int use_keys, uint64_t gate_resume, char *why, size_t whylen)
{
	keys = use_keys;
	resume_va = gate_resume;
	if (hgate_vectors_covered(hgate_xcr0(), vector_level(), why, whylen) < 0)
		return -1;
	if (!(domtab = hgate_map(GATE_DOMTAB_VA, DOMTAB_BYTES, PKEY_TRUSTED, "the domain table",
				 why, whylen)))
		return -1;
	/* The runtime's own thread: slot 0, the first taken. */
	long slot = hgate_slot_take(why, whylen);
	return slot < 0 ? -1 : hgate_thread_attach((unsigned)slot, why, whylen);
}

int hgate_add(struct hosted_domain *d, char *why, size_t whylen)
{
	pthread_mutex_lock(&table_lock);
	if (!d->id || d->id >= GATE_MAX_DOMAINS || domains[d->id]) {
		pthread_mutex_unlock(&table_lock);
		snprintf(why, whylen, "%s: domain id %u is not free", d->name, d->id);
		return -1;
	}
	/* A stack for every thread that may call it, before anyone can. */
	unsigned slot = 0;
	for (; slot < GATE_MAX_THREADS; slot++)
		if (slot_taken[slot] && map_stack(slot, d, why, whylen) < 0)
			break;
	if (slot < GATE_MAX_THREADS) {
		while (slot--)
			unmap_stack(slot, d);
		pthread_mutex_unlock(&table_lock);
		return -1;
	}
	d->gen = generation[d->id];
	domains[d->id] = d;
	struct gate_domain *gd = &domtab[d->id];
	gd->gen = d->gen;
	/* A new domain has made and taken no calls, whatever its slot's last
	 * domain did (the console's `domains` and the strike plans count
	 * them): no thread counts into or out of it before its state below
	 * says it runs, so every slot's counts of it are zeroed here, under
	 * the lock hgate_calls sums under. */
	gd->ended_calls = gd->ended_calls_out = 0;
	for (slot = 0; slot < GATE_MAX_THREADS; slot++)
		if (slot_mapped[slot])
			slot_tt(slot)->calls[d->id] = slot_tt(slot)->calls_out[d->id] = 0;
	gd->pkru = d->pkey >= 0 ? PKRU_DOMAIN(d->pkey) : 0;
	gd->nmethods = 0;
	__atomic_store_n(&gd->state, GATE_DOMAIN_RUNNING, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&table_lock);
	return 0;
}

uint64_t hgate_remove(struct hosted_domain *d)
{
	pthread_mutex_lock(&table_lock);
	if (d->id >= GATE_MAX_DOMAINS || domains[d->id] != d) {
		pthread_mutex_unlock(&table_lock);
		return 0;
	}
	__atomic_store_n(&domtab[d->id].state, GATE_DOMAIN_FREE, __ATOMIC_RELEASE);
	for (unsigned slot = 0; slot < GATE_MAX_THREADS; slot++)
		unmap_stack(slot, d);
	uint64_t n = rref_reclaim(d->id); /* what it owns goes with it, as at the VM's destroy */
	domains[d->id] = NULL;
	generation[d->id] = handle_next_gen(generation[d->id]);
	pthread_mutex_unlock(&table_lock);
	return n;
}

uint64_t hgate_handle(const struct hosted_domain *d)
{
	return handle_make(d->id, d->gen);
}

struct hosted_domain *hgate_domain(uint64_t handle)
{
	pthread_mutex_lock(&table_lock);
	struct hosted_domain *d = domains[handle_slot(handle)];
	if (d && !handle_names(handle, d->id, d->gen))
		d = NULL;
	pthread_mutex_unlock(&table_lock);
	return d;
}

struct hosted_domain *hgate_hold(uint64_t handle)
{
	pthread_mutex_lock(&table_lock);
	struct hosted_domain *d = domains[handle_slot(handle)];
	if (d && handle_names(handle, d->id, d->gen)) {
		/* The gate's order (gate.S) against a destroy's: count first,
		 * then see it run; a destroy publishes first, then counts. */
		struct gate_domain *gd = &domtab[d->id];
		__atomic_add_fetch(&gd->active, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&gd->state, __ATOMIC_SEQ_CST) != GATE_DOMAIN_RUNNING) {
			__atomic_sub_fetch(&gd->active, 1, __ATOMIC_RELEASE);
			d = NULL;
		}
	} else {
		d = NULL;
	}
	pthread_mutex_unlock(&table_lock);
	return d;
}

void hgate_release(struct hosted_domain *d)
{
	__atomic_sub_fetch(&domtab[d->id].active, 1, __ATOMIC_RELEASE);
}

struct hosted_domain *hgate_slot(unsigned id)
{
	return id < GATE_MAX_DOMAINS ? domains[id] : NULL;
}

int hgate_fail(struct hosted_domain *d)
{
	/* One winner when threads fail d at once (a fault and a kill). */
	uint64_t running = GATE_DOMAIN_RUNNING;
	return __atomic_compare_exchange_n(&domtab[d->id].state, &running, GATE_DOMAIN_FAILED, 0,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/*
 * The VM's kick (domain_fail's sched_kick_all_cpus: each CPU's way back to
 * ring 3 unwinds a thread whose current domain failed). The signal goes to
 * the thread of every slot whose current domain (its gate_thread_ro, which
 * no domain writes) is d, this thread's own excepted (it unwinds on its
 * own way out). It only makes the thread look: the handler (entry.c,
 * on_watchdog) decides from that thread's own trusted state when it runs,
 * so a thread that left d meanwhile, a slot's tid since reused, or a
 * thread in the runtime (which blocks the signal until it enters a domain
 * again) goes on untouched. Async-signal-safe: called from the handlers.
 */
void hgate_kick(const struct hosted_domain *d)
{
	for (unsigned slot = 0; slot < GATE_MAX_THREADS; slot++) {
		const struct gate_thread_ro *r =
			(const struct gate_thread_ro *)(slot_va(slot) + GATE_SLOT_RO_OFF);
		pid_t tid = __atomic_load_n(&slot_tid[slot], __ATOMIC_RELAXED);
		if ((ro && slot == my_slot) || !tid ||
		    !__atomic_load_n(&slot_taken[slot], __ATOMIC_ACQUIRE) ||
		    __atomic_load_n(&r->domain, __ATOMIC_RELAXED) % GATE_MAX_DOMAINS != d->id)
			continue;
		syscall(SYS_tgkill, getpid(), tid, HWATCH_SIGNAL); /* ESRCH: it ended */
	}
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
	return ro ? domains[ro->domain % GATE_MAX_DOMAINS] : NULL; /* a thread with no slot: none */
}

int hgate_busy_slot(pid_t *tid, struct hosted_domain **in)
{
	for (unsigned slot = 0; slot < GATE_MAX_THREADS; slot++) {
		const struct gate_thread_ro *r =
			(const struct gate_thread_ro *)(slot_va(slot) + GATE_SLOT_RO_OFF);
		uint64_t id = __atomic_load_n(&slot_taken[slot], __ATOMIC_ACQUIRE)
				      ? __atomic_load_n(&r->domain, __ATOMIC_RELAXED)
				      : 0;
		if (id) {
			*tid = __atomic_load_n(&slot_tid[slot], __ATOMIC_RELAXED);
			*in = domains[id % GATE_MAX_DOMAINS];
			return (int)slot;
		}
	}
	return -1;
}

uint32_t hgate_expected_pkru(void)
{
	return (uint32_t)ro->expected_pkru;
}

void hgate_export(struct hosted_domain *d, const uint64_t *methods, unsigned n)
{
	pthread_mutex_lock(&table_lock); /* two threads of d may export at once */
	struct gate_domain *gd = &domtab[d->id];
	__atomic_store_n(&gd->nmethods, 0, __ATOMIC_RELEASE);
	memcpy(gd->methods, methods, n * sizeof *methods);
	memcpy(d->methods, methods, n * sizeof *methods);
	d->nmethods = n;
	__atomic_store_n(&gd->nmethods, n, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&table_lock);
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
	/* Under the lock: the names read are of domains another thread may
	 * be destroying (it frees them only after hgate_remove). */
	pthread_mutex_lock(&table_lock);
	struct hosted_domain *d = hgate_find(name, &why, NULL);
	long h = !d					 ? why
		 : hgate_state(d) == GATE_DOMAIN_RUNNING ? (long)hgate_handle(d)
							 : -MAPLE_ESRCH;
	pthread_mutex_unlock(&table_lock);
	return h;
}

long hgate_lookup_any(const char *name)
{
	long h = -MAPLE_ESRCH;
	pthread_mutex_lock(&table_lock);
	for (uint32_t id = 1; id < GATE_MAX_DOMAINS && h < 0; id++)
		if (domains[id] && !strcmp(domains[id]->name, name))
			h = (long)hgate_handle(domains[id]);
	pthread_mutex_unlock(&table_lock);
	return h;
}

int hgate_owns(const struct hosted_domain *d, uint64_t p, uint64_t n)
{
	/* Each length is compared before it is subtracted, so nothing wraps. */
	uint64_t heap = d->base + DOMAIN_HEAP_OFF,
		 heap_len = d->heap_next ? d->heap_next - heap : 0;
	uint64_t stack = slot_stack_lo(d->base, my_slot); /* this thread's: the caller's */
	return (n <= d->span && p >= d->base && p - d->base <= d->span - n) ||
	       (tt->domain_sp[d->id % GATE_MAX_DOMAINS] && n <= STACK_SIZE && p >= stack &&
		p - stack <= STACK_SIZE - n) ||
	       (n <= heap_len && p >= heap && p - heap <= heap_len - n) ||
	       (d->device_va && n <= d->device_bytes && p >= d->device_va &&
		p - d->device_va <= d->device_bytes - n);
}

/* Calls into d (out: out of d), every slot's summed with the table's. */
static uint64_t calls_of(const struct hosted_domain *d, int out)
{
	if (d->id >= GATE_MAX_DOMAINS)
		return 0;
	pthread_mutex_lock(&table_lock);
	uint64_t n = out ? domtab[d->id].ended_calls_out : domtab[d->id].ended_calls;
	for (unsigned slot = 0; slot < GATE_MAX_THREADS; slot++)
		if (slot_taken[slot])
			n += __atomic_load_n(out ? &slot_tt(slot)->calls_out[d->id]
						 : &slot_tt(slot)->calls[d->id],
					     __ATOMIC_RELAXED);
	pthread_mutex_unlock(&table_lock);
	return n;
}

uint64_t hgate_calls(const struct hosted_domain *d)
{
	return calls_of(d, 0);
}

uint64_t hgate_calls_out(const struct hosted_domain *d)
{
	return calls_of(d, 1);
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

int hgate_stamp_call(void)
{
	return tt && watchdog_stamp(tt, ro->trusted, __rdtsc(), NULL);
}

const struct gate_thread_trusted *hgate_thread_conts(uint64_t *tt_va)
{
	if (!ro)
		return NULL; /* a thread with no slot has no continuations */
	*tt_va = ro->trusted;
	return tt;
}

const struct gate_thread_trusted *hgate_slot_conts(unsigned slot, uint64_t *tt_va)
{
	if (slot >= GATE_MAX_THREADS || !__atomic_load_n(&slot_taken[slot], __ATOMIC_ACQUIRE))
		return NULL;
	*tt_va = slot_va(slot) + GATE_SLOT_TRUSTED_OFF;
	return slot_tt(slot);
}

int hgate_on_my_stack(const struct hosted_domain *d)
{
	for (uint64_t k = 0; k < depth(); k++)
		if (tt->conts[k].callee == d->id)
			return 1;
	return 0;
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
static __thread int next_is_thread;

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
	uint64_t stack = slot_stack_lo(d->base, my_slot);
	if (sp - 8 < stack || sp > stack + STACK_SIZE || sp % 8) {
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
	/* The thread's own count (gate_layout.h), as the gate keeps it. */
	__atomic_store_n(&tt->calls[d->id], tt->calls[d->id] + 1, __ATOMIC_RELAXED);
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
	watchdog_discount(tt, ro->trusted, watchdog_failed_call_ticks(c.start_tsc, __rdtsc()));
	if (c.kind != CONT_XCALL)
		return 1;
	*rip = resume_va;
	*rsp = c.caller_rsp;
	*pkru = (uint32_t)c.caller_pkru;
	return 0;
}

long hgate_exit_thread(unsigned floor)
{
	uint64_t n = depth(), self = ro->domain;
	if (floor >= n)
		return -MAPLE_EINVAL;
	/* The VM's gate_exit_thread: ending the thread abandons every frame
	 * above the upcall, so they must all be the exiting domain's own; a
	 * callee that could end the thread its caller called it on would cut
	 * the caller's call short without failing (attack.c's case 140). */
	for (uint64_t i = floor; i < n; i++)
		if (tt->conts[i].callee != self || (i > floor && tt->conts[i].caller != self))
			return -MAPLE_EPERM;
	while (depth() > floor)
		pop_one();
	return 0;
}
