/*
 * The kernel's side of the gate (domain/gate.h). The gate itself
 * (domain/arch/x86/gate.S) pushes and pops continuations in user mode; the kernel
 * pushes them for upcalls and pops them when it unwinds a thread out of a
 * failed domain. Continuations and the domain table live in TRUSTED user
 * pages; the kernel reaches them through the direct map.
 */
#include <arch/x86/cpu.h>
#include <arch/x86/pte.h>
#include <arch/x86/tlb.h>
#include <arch/x86/traps.h>
#include <arch/x86/usermode.h>
#include <core/log.h>
#include <core/panic.h>
#include <core/thread.h>
#include <domain/domain.h>
#include <domain/gate.h>
#include <domain/watchdog.h>
#include <lib/fmt.h>
#include <lib/string.h>
#include <mm/frame.h>
#include <mm/kmalloc.h>
#include <mm/vm.h>
#include <xheap/rref.h>

#define SLOT_WORDS (GATE_MAX_THREADS / 64)

extern const char __gate_start[], __gate_end[];
extern const char gate_fault_pf[], gate_fault_gp[], gate_fault_ud[], gate_fault_de[],
	gate_fault_pk[], gate_resume[];

_Static_assert((uint64_t)GATE_MAX_THREADS *DOMAIN_STACK_SLOT <=
		       MAPLE_DOMAIN_SLOT - DOMAIN_STACK_OFF,
	       "every gate thread slot has its stack slot in each domain (GATE_MAX_THREADS)");
_Static_assert((GATE_MAX_DOMAINS & (GATE_MAX_DOMAINS - 1)) == 0,
	       "the gate masks domain ids with GATE_MAX_DOMAINS - 1");

#define THREAD_TRUSTED_PAGES (GATE_THREAD_TRUSTED_SIZE / PAGE_SIZE)
#define THREAD_STACK_PAGES   (GATE_STACK_SIZE / PAGE_SIZE)

static struct gate_domain *domtab;
static uint64_t slot_used[SLOT_WORDS];
static struct thread_gate *slot_owner[GATE_MAX_THREADS];
static struct spinlock slot_lock = SPINLOCK_INIT("gate-slots");

static uint64_t gate_user_va(const char *sym)
{
	return MAPLE_GATE_VA + (uint64_t)(sym - __gate_start);
}

void gate_init(void)
{
	for (const char *p = __gate_start; p < __gate_end; p += PAGE_SIZE)
		if (vm_map_page(gate_user_va(p), virt_to_phys(p), PTE_U | pte_key(PKEY_GATE_RO)) <
		    0)
			panic("gate: cannot map the gate page at %#lx", gate_user_va(p));
	uint64_t bytes = sizeof(struct gate_domain) * GATE_MAX_DOMAINS;
	uint64_t pages = (bytes + PAGE_SIZE - 1) / PAGE_SIZE;
	uint64_t pa = frame_alloc_contig(pages, 1);
	if (!pa)
		panic("gate: no memory for the domain table");
	memset(phys_to_virt(pa), 0, pages * PAGE_SIZE);
	for (uint64_t i = 0; i < pages; i++)
		if (vm_map_page(GATE_DOMTAB_VA + i * PAGE_SIZE, pa + i * PAGE_SIZE,
				PTE_U | PTE_W | PTE_NX | pte_key(PKEY_TRUSTED)) < 0)
			panic("gate: cannot map the domain table");
	domtab = phys_to_virt(pa);
	klog("gate: %lu byte gate at %#lx, domain table at %#lx",
	     (uint64_t)(__gate_end - __gate_start), MAPLE_GATE_VA, GATE_DOMTAB_VA);
}

struct gate_domain *gate_domtab(uint32_t id)
{
	return &domtab[id];
}

static int slot_take(void)
{
	spin_lock(&slot_lock);
	for (int w = 0; w < SLOT_WORDS; w++) {
		if (slot_used[w] == ~0ULL)
			continue;
		int slot = w * 64 + __builtin_ctzll(~slot_used[w]);
		slot_used[w] |= 1ULL << (slot % 64);
		spin_unlock(&slot_lock);
		return slot;
	}
	spin_unlock(&slot_lock);
	return -1;
}

int gate_threads_free(void)
{
	int used = 0;
	spin_lock(&slot_lock);
	for (int i = 0; i < GATE_MAX_THREADS; i++)
		used += (int)(slot_used[i / 64] >> (i % 64) & 1);
	spin_unlock(&slot_lock);
	return GATE_MAX_THREADS - used;
}

static void slot_put(int slot)
{
	spin_lock(&slot_lock);
	slot_used[slot / 64] &= ~(1ULL << (slot % 64));
	slot_owner[slot] = NULL;
	spin_unlock(&slot_lock);
}

/*
 * Map a thread's gate pages in its slot: the GATE_RO page, then (after a
 * guard) the gate stack and the TRUSTED pages, one contiguous run of
 * frames at tt_pa. Returns 0, or -1 with nothing left mapped by this call
 * (a page that was mapped already is someone else's and stays).
 */
static int map_thread_pages(struct thread_gate *g, uint64_t ro_pa, uint64_t tt_pa)
{
	uint64_t stack_va = g->ro_va + GATE_SLOT_STACK_OFF;
	uint64_t pages = THREAD_STACK_PAGES + THREAD_TRUSTED_PAGES, i;
	if (vm_map_page(g->ro_va, ro_pa, PTE_U | PTE_W | PTE_NX | pte_key(PKEY_GATE_RO)) < 0)
		return -1;
	for (i = 0; i < pages; i++)
		if (vm_map_page(stack_va + i * PAGE_SIZE, tt_pa + i * PAGE_SIZE,
				PTE_U | PTE_W | PTE_NX | pte_key(PKEY_TRUSTED)) < 0)
			break;
	if (i == pages)
		return 0;
	unmap_region(stack_va, i, false);
	unmap_region(g->ro_va, 1, false);
	return -1;
}

struct thread_gate *gate_thread_alloc(uint32_t pkru, long *err)
{
	uint64_t pages = THREAD_STACK_PAGES + THREAD_TRUSTED_PAGES;
	struct thread_gate *g = kzalloc(sizeof *g);
	int slot = g ? slot_take() : -1;
	uint64_t ro_pa = slot >= 0 ? frame_alloc() : 0;
	uint64_t tt_pa = ro_pa ? frame_alloc_contig(pages, 1) : 0;
	if (tt_pa) {
		g->slot = slot;
		g->ro_va = GATE_THREADS_VA + (uint64_t)slot * GATE_THREAD_SLOT;
		g->tt_va = g->ro_va + GATE_SLOT_TRUSTED_OFF;
		/* Slots are reused only after their pages were revoked everywhere;
		 * should one still be mapped, this thread is refused, not the kernel. */
		if (map_thread_pages(g, ro_pa, tt_pa) == 0)
			goto mapped;
		klog("gate: thread slot %d at %#lx is still mapped or out of page tables; "
		     "thread refused",
		     slot, g->ro_va);
		frame_free(tt_pa, pages);
		tt_pa = 0;
	}
	*err = g && slot < 0 ? -MAPLE_EAGAIN : -MAPLE_ENOMEM;
	if (ro_pa)
		frame_free(ro_pa, 1);
	if (slot >= 0)
		slot_put(slot);
	kfree(g);
	return NULL;
mapped:
	memset(phys_to_virt(ro_pa), 0, PAGE_SIZE);
	memset(phys_to_virt(tt_pa), 0, pages * PAGE_SIZE);
	g->ro = phys_to_virt(ro_pa);
	g->tt = phys_to_virt(tt_pa + GATE_STACK_SIZE);
	g->ro->self = g->ro_va;
	g->ro->expected_pkru = pkru;
	g->ro->domain = 0;
	g->ro->trusted = g->tt_va;
	g->ro->depth_limit = g->tt_va + offsetof(struct gate_thread_trusted, conts[GATE_MAX_DEPTH]);
	g->ro->gate_stack = g->ro_va + GATE_SLOT_STACK_OFF + GATE_STACK_SIZE;
	g->tt->cont_top = g->tt_va + offsetof(struct gate_thread_trusted, conts);
	spin_lock(&slot_lock);
	slot_owner[slot] = g;
	spin_unlock(&slot_lock);
	return g;
}

void gate_thread_attach(struct thread *t, struct thread_gate *g)
{
	t->gate = g;
	t->user_gs = g->ro_va;
	if (t == thread_current())
		arch_set_user_gs(g->ro_va);
}

/* This thread's gate pages, made the first time: NULL with *err set as
 * gate_thread_alloc does. */
static struct thread_gate *thread_gate_or_err(struct thread *t, long *err)
{
	if (t->gate)
		return t->gate;
	struct thread_gate *g = gate_thread_alloc(t->pkru, err);
	if (g)
		gate_thread_attach(t, g);
	return g;
}

struct thread_gate *gate_thread(struct thread *t)
{
	long err;
	return thread_gate_or_err(t, &err);
}

void gate_thread_free(struct thread_gate *g)
{
	/* Its counts go to the domain table as it leaves the slot owners,
	 * under the lock gate_domain_calls sums under: each call is summed
	 * once, from the thread's page or from the table. The thread enters
	 * no domain any more, so its counts are final. */
	spin_lock(&slot_lock);
	for (uint32_t id = 1; id < GATE_MAX_DOMAINS; id++) {
		domtab[id].ended_calls += g->tt->calls[id];
		domtab[id].ended_calls_out += g->tt->calls_out[id];
	}
	slot_owner[g->slot] = NULL;
	spin_unlock(&slot_lock);
	/* The RO page, the guard, the gate stack and the TRUSTED pages. */
	unmap_region(g->ro_va, GATE_SLOT_TRUSTED_OFF / PAGE_SIZE + THREAD_TRUSTED_PAGES, true);
	slot_put(g->slot);
	kfree(g);
}

void gate_thread_release(struct thread *t)
{
	struct thread_gate *g = t->gate;
	if (!g)
		return;
	/* A reference: this thread is in none of them, so a destroy may be
	 * tearing one down meanwhile (dmem_free unlinks under its lock). */
	for (uint32_t id = 1; id < GATE_MAX_DOMAINS; id++) {
		struct domain *d = g->tt->domain_sp[id] ? domain_get(id) : NULL;
		if (d)
			dmem_free(d, g->slot, false);
		domain_put(d);
	}
	t->gate = NULL;
	t->user_gs = 0;
	arch_set_user_gs(0);
	gate_thread_free(g);
}

/*
 * Every thread's stack in domain id, and its counts of calls into id and
 * out of it, so the next domain in the slot starts with none. Only after
 * destroy's drain: no call into id is in progress, and none can start (its
 * state is not running), so no thread counts into or out of id while its
 * counts are zeroed here.
 */
void gate_forget_domain(uint32_t id)
{
	spin_lock(&slot_lock);
	domtab[id].ended_calls = domtab[id].ended_calls_out = 0;
	for (int i = 0; i < GATE_MAX_THREADS; i++)
		if (slot_owner[i]) {
			slot_owner[i]->tt->domain_sp[id] = 0;
			slot_owner[i]->tt->calls[id] = slot_owner[i]->tt->calls_out[id] = 0;
		}
	spin_unlock(&slot_lock);
}

struct gate_calls gate_domain_calls(uint32_t id)
{
	struct gate_calls c = {0, 0};
	if (id >= GATE_MAX_DOMAINS)
		return c;
	spin_lock(&slot_lock);
	c.in = domtab[id].ended_calls;
	c.out = domtab[id].ended_calls_out;
	for (int i = 0; i < GATE_MAX_THREADS; i++)
		if (slot_owner[i]) {
			c.in += __atomic_load_n(&slot_owner[i]->tt->calls[id], __ATOMIC_RELAXED);
			c.out += __atomic_load_n(&slot_owner[i]->tt->calls_out[id],
						 __ATOMIC_RELAXED);
		}
	spin_unlock(&slot_lock);
	return c;
}

/*
 * Number of continuations on the thread's stack. A top that is not a slot
 * boundary in range was not written by the gate or the kernel as they
 * stand; trust none of it: fail the domain the thread runs in (its
 * callers see the error when the thread unwinds), count nothing, and set
 * the top back to empty so the gate refuses to return through it.
 */
static uint64_t depth(const struct thread_gate *g)
{
	uint64_t first = g->tt_va + offsetof(struct gate_thread_trusted, conts);
	uint64_t off = g->tt->cont_top - first;
	if (g->tt->cont_top >= first && off % sizeof(struct continuation) == 0 &&
	    off / sizeof(struct continuation) <= GATE_MAX_DEPTH)
		return off / sizeof(struct continuation);
	struct domain *d = domain_by_id((uint32_t)(g->ro->domain % GATE_MAX_DOMAINS));
	klog("gate: thread slot %d has a corrupt continuation top %#lx", g->slot, g->tt->cont_top);
	if (d)
		domain_fail(d, "gate: corrupt continuation stack on thread slot %d", g->slot);
	g->tt->cont_top = first;
	return 0;
}

uint32_t gate_current_domain(struct thread *t)
{
	return t->gate ? (uint32_t)t->gate->ro->domain : 0;
}

/* Whether c's callee is still the running domain the call entered. */
static bool callee_running(const struct continuation *c)
{
	struct domain *d = domain_by_id((uint32_t)(c->callee % GATE_MAX_DOMAINS));
	return d && d->gen == c->callee_gen && d->state == DOMAIN_RUNNING;
}

/* Undo the innermost continuation's effects on the thread's gate state. */
static void pop_one(struct thread_gate *g)
{
	uint64_t n = depth(g);
	struct continuation *c = &g->tt->conts[n - 1];
	/* RRefs lent to the call go back to their owners; moved ones stay
	 * with the callee and go when it is destroyed. */
	if (c->kind == CONT_XCALL)
		for (int i = 0; i < 4; i++)
			if (c->word & XCALL_BORROW(i))
				rref_end_borrow(c->args[i]);
	g->tt->domain_sp[c->callee % GATE_MAX_DOMAINS] = c->callee_sp;
	g->tt->domain_sp[c->caller % GATE_MAX_DOMAINS] = c->caller_sp;
	g->ro->domain = c->caller;
	g->ro->expected_pkru = c->caller_pkru;
	g->tt->cont_top -= sizeof(struct continuation);
	g->ctx[n - 1] = NULL;
	/* Uncounted last, as the gate does: once active may reach 0, destroy
	 * may forget every thread's stack in the callee (domain_destroy), and
	 * no stale stack pointer may be written back after that. */
	__atomic_sub_fetch(&domtab[c->callee % GATE_MAX_DOMAINS].active, 1, __ATOMIC_RELEASE);
}

/*
 * Whether sp, a stack pointer the kernel is about to enter d with, lies in
 * this thread's own stack in d. It may have come from the domain (the gate
 * records a caller's %rsp as where a call back into it starts), so the
 * kernel never writes through it unchecked.
 */
static bool on_thread_stack(struct domain *d, const struct thread_gate *g, uint64_t sp)
{
	bool ok = false;
	spin_lock(&d->lock);
	for (struct domain_region *r = d->regions; r && !ok; r = r->next)
		ok = r->thread_slot == g->slot && !r->device && sp - 8 >= r->va &&
		     sp <= r->va + r->pages * PAGE_SIZE && sp % 8 == 0;
	spin_unlock(&d->lock);
	return ok;
}

/* Back in the kernel after an upcall: its rights and its entry stack. */
static void finish_upcall(struct thread *t, uint64_t kentry, uint32_t pkru)
{
	irq_disable(); /* the thread's state and this CPU's must change together */
	t->kentry = kentry;
	arch_set_kernel_entry(kentry);
	t->pkru = pkru;
	arch_set_pkru(pkru);
	irq_enable();
}

long gate_upcall(struct domain *d, uint64_t entry, int kind, long a0, long a1, long a2, long a3)
{
	struct thread *t = thread_current();
	long err = 0;
	struct thread_gate *g = thread_gate_or_err(t, &err);
	if (!g)
		return err; /* -MAPLE_EAGAIN past GATE_MAX_THREADS, or -MAPLE_ENOMEM */
	uint64_t n = depth(g);
	if (n >= GATE_MAX_DEPTH)
		return -MAPLE_EDEPTH;
	/* Counted before the state is read, as in the gate: destroy either
	 * sees this call or this sees destroy's state (domain/domain.c). */
	struct gate_domain *gd = &domtab[d->id];
	__atomic_add_fetch(&gd->active, 1, __ATOMIC_SEQ_CST);
	uint64_t sp = g->tt->domain_sp[d->id];
	if (__atomic_load_n(&gd->state, __ATOMIC_SEQ_CST) != GATE_DOMAIN_RUNNING ||
	    gd->gen != d->gen || d->state != DOMAIN_RUNNING) {
		err = -MAPLE_EDEAD;
	} else if (!sp) {
		long top = dmem_stack_alloc(d, g->slot);
		if (top < 0)
			err = top; /* EDEAD if d is going: not a memory shortage */
		else
			sp = (uint64_t)top;
		g->tt->domain_sp[d->id] = sp;
	} else if (!on_thread_stack(d, g, sp)) {
		domain_fail(d,
			    "gate: thread slot %d would enter it at %#lx, outside its stack there",
			    g->slot, sp);
		err = -MAPLE_ECALLEE;
	}
	if (err) {
		__atomic_sub_fetch(&gd->active, 1, __ATOMIC_RELEASE);
		return err;
	}
	uint32_t caller = (uint32_t)(g->ro->domain % GATE_MAX_DOMAINS);
	struct continuation *c = &g->tt->conts[n];
	*c = (struct continuation){
		.kind = (uint64_t)kind,
		.caller = caller,
		.callee = d->id,
		.callee_gen = d->gen,
		.caller_pkru = arch_get_pkru(), /* t->pkru is stale inside a domain */
		.callee_sp = sp,
		.caller_sp = g->tt->domain_sp[caller],
		.start_tsc = rdtsc(),
	};
	struct upcall_ctx ctx;
	g->ctx[n] = &ctx;
	g->tt->cont_top += sizeof(struct continuation);
	/* The thread's own count (gate_layout.h), as the gate keeps it. */
	__atomic_store_n(&g->tt->calls[d->id], g->tt->calls[d->id] + 1, __ATOMIC_RELAXED);
	g->ro->domain = d->id;
	g->ro->expected_pkru = d->pkru;

	/* The method returns to the gate's return stub, which calls SYS_RETURN. */
	uint64_t *ret_slot = phys_to_virt(virt_to_phys((void *)(sp - 8)));
	*ret_slot = MAPLE_GATE_RETURN_VA;
	struct user_entry e = {.rip = entry,
			       .rsp = sp - 8,
			       .args = {(uint64_t)a0, (uint64_t)a1, (uint64_t)a2, (uint64_t)a3}};
	uint64_t kentry = t->kentry;
	uint32_t pkru = (uint32_t)c->caller_pkru;
	t->pkru = d->pkru;
	long r = upcall_enter(&ctx, &e, d->pkru);
	finish_upcall(t, kentry, pkru);
	return r;
}

void gate_return(long value)
{
	struct thread *t = thread_current();
	struct thread_gate *g = t->gate;
	uint64_t n = g ? depth(g) : 0;
	if (!n)
		return;
	struct continuation *c = &g->tt->conts[n - 1];
	if (c->kind == CONT_XCALL || c->callee != g->ro->domain || !g->ctx[n - 1])
		return;
	/* A callee that failed has no result to give: the way back to ring 3
	 * unwinds it, and the kernel's caller hears the failure's error. */
	if (!callee_running(c))
		return;
	struct upcall_ctx *ctx = g->ctx[n - 1];
	pop_one(g);
	upcall_resume(ctx, value);
}

long gate_exit_thread(void)
{
	struct thread_gate *g = thread_current()->gate;
	uint64_t n = g ? depth(g) : 0;
	uint64_t k = 0;
	while (k < n && !g->ctx[k])
		k++;
	if (k == n)
		return -MAPLE_EINVAL;
	/* Ending the thread abandons every frame above the upcall. They must
	 * all be the exiting domain's own: a callee that could end the thread
	 * its caller called it on would cut the caller's call short (its locks
	 * held, its kernel caller handed a 0 it never returned) without
	 * failing, where the watchdog or a fault would have unwound the
	 * caller with an error. */
	uint64_t self = g->ro->domain;
	for (uint64_t i = k; i < n; i++)
		if (g->tt->conts[i].callee != self || (i > k && g->tt->conts[i].caller != self))
			return -MAPLE_EPERM;
	struct upcall_ctx *ctx = g->ctx[k];
	while (depth(g) > k)
		pop_one(g);
	upcall_resume(ctx, 0);
}

/*
 * Unwind to the outermost continuation into a domain that is no longer
 * running: everything above it ran on that domain's behalf.
 *
 * THE INVARIANT (a caller's failure is not its callee's): a thread whose
 * innermost call is into a domain still running is not unwound, whoever
 * failed below it, unless it faulted there (`fault`: the callee failed,
 * or a raised gate pass did). The callee finishes its method, with its
 * locks and data whole, and the thread is unwound once it is back in a
 * failed domain: the gate returns it there, and refuses every further
 * call a failed domain makes (gate.S), so the failed domain's code runs
 * only until the thread next enters the kernel. Before, a client that
 * failed (another of its threads panicked) while its call ran in a server
 * cut the server's method short, holding its lock for ever: the server's
 * next caller spun on it until the watchdog failed the server
 * (attack3_a_caller_failing_inside_a_callee_leaves_the_callee_whole).
 */
static void unwind_failed(struct thread *t, struct trap_frame *tf, bool fault)
{
	struct thread_gate *g = t->gate;
	uint64_t n = depth(g), k;
	struct domain *dead = NULL;
	for (k = 0; k < n; k++) {
		const struct continuation *c = &g->tt->conts[k];
		dead = domain_by_id((uint32_t)(c->callee % GATE_MAX_DOMAINS));
		if (!dead || dead->gen != c->callee_gen || dead->state != DOMAIN_RUNNING)
			break;
	}
	if (dead && k < n && dead->gen != g->tt->conts[k].callee_gen)
		dead = NULL; /* a successor in the slot: the callee is gone */
	if (k == n || (!fault && callee_running(&g->tt->conts[n - 1])))
		return;
	/* A callee that is gone (destroyed while the thread was entering it)
	 * is not running: -MAPLE_EDEAD, as the gate says for it. */
	long err = !dead ? -MAPLE_EDEAD : dead->fail_errno ? -dead->fail_errno : -MAPLE_ECALLEE;
	struct continuation c = g->tt->conts[k];
	struct upcall_ctx *ctx = g->ctx[k];
	while (depth(g) > k)
		pop_one(g);
	/* The time the failed call took is not its callers' (watchdog.h). */
	watchdog_credit_failed_call(t, c.start_tsc);
	if (c.kind != CONT_XCALL)
		upcall_resume(ctx, err);
	/* The gate's own ending of a call, with the caller's rights: it pops
	 * the caller's registers and return address from caller_rsp. The
	 * kernel reads no domain memory for it. */
	tf->rip = gate_user_va(gate_resume);
	tf->rsp = c.caller_rsp;
	tf->rax = (uint64_t)err;
	/* The failed callee's scratch registers are not the caller's to see
	 * (gate_resume restores the callee-saved ones from the caller's own
	 * frame), as on the gate's normal return. */
	tf->rdi = tf->rsi = tf->rdx = tf->rcx = 0;
	tf->r8 = tf->r9 = tf->r10 = tf->r11 = 0;
	/* The flags a return hands back, not the failed callee's: its trap
	 * flag would single-step the caller into a #DB of its own (and DF
	 * would run its string copies backwards). Bit 1 is always set. */
	tf->rflags = RFLAGS_IF | 0x2;
	t->pkru = (uint32_t)c.caller_pkru;
	arch_set_pkru(t->pkru);
}

static uint64_t inject_target(enum inject_fault f)
{
	switch (f) {
	case INJECT_PF:
		return gate_user_va(gate_fault_pf);
	case INJECT_GP:
		return gate_user_va(gate_fault_gp);
	case INJECT_UD:
		return gate_user_va(gate_fault_ud);
	case INJECT_DE:
		return gate_user_va(gate_fault_de);
	case INJECT_PK:
		return gate_user_va(gate_fault_pk);
	default:
		return 0;
	}
}

void gate_return_to_user(struct trap_frame *tf)
{
	struct thread *t = thread_current();
	struct thread_gate *g = t->gate;
	if (!g)
		return;
	struct domain *cur = domain_by_id((uint32_t)g->ro->domain);
	/* Only where the domain's own code runs: a thread stopped inside the
	 * gate's code holds a transition's state and must finish it. */
	if (cur && cur->state == DOMAIN_RUNNING && tf->rip >= cur->image_lo &&
	    tf->rip < cur->image_hi) {
		enum inject_fault f =
			__atomic_exchange_n(&cur->inject, INJECT_NONE, __ATOMIC_ACQ_REL);
		if (f != INJECT_NONE) {
			tf->rip = inject_target(f);
			return; /* it faults there, in the domain, with its rights */
		}
	}
	watchdog_check_current(t, tf->rip);
	/* A thread interrupted (or back from a syscall) in the gate's code
	 * with the gate's rights is half-way through a raised pass, which
	 * holds a count or a continuation in flight: let it finish; it is
	 * unwound once it has lowered. A raised pass is straight-line code
	 * (plus rref.gate.c's bounded loops and SYS_GATE_STACK), so this waits
	 * a bounded time; with any other rights the thread's gate state is
	 * whole, wherever its RIP, and a domain that loops through the gate
	 * (it can, by returning into it) is unwound like one that loops in its
	 * own code. Faults in the gate unwind at once (gate_user_fault). */
	if (arch_get_pkru() == PKRU_GATE && tf->rip >= MAPLE_GATE_VA &&
	    tf->rip < MAPLE_GATE_VA + (uint64_t)(__gate_end - __gate_start))
		return;
	unwind_failed(t, tf, false);
}

/* A CPU exception in ring 3: fail the current domain and unwind. */
static bool gate_user_fault(struct trap_frame *tf, const char *what)
{
	struct thread *t = thread_current();
	struct thread_gate *g = t->gate;
	if (!g)
		return false;
	uint32_t id = (uint32_t)(g->ro->domain % GATE_MAX_DOMAINS);
	struct domain *d = domain_by_id(id);
	uint64_t n = depth(g);
	const struct continuation *top = n ? &g->tt->conts[n - 1] : NULL;
	if (d && top && top->callee == id && top->callee_gen != d->gen)
		d = NULL; /* the slot has a successor: the domain it ran in is gone */
	if (d) {
		char where[64];
		domain_symbolize(d, tf->rip, where, sizeof where);
		domain_fail(d, "%s, rip %#lx (%s)", what, tf->rip, where);
	} else if (n) {
		/* A fault in memory no domain owns: the domain being entered was
		 * destroyed under the thread. Its caller gets the error. */
		klog("gate: thread slot %d faulted in domain %u, which is gone: %s, rip %#lx",
		     g->slot, id, what, tf->rip);
	} else {
		return false;
	}
	uint64_t rip = tf->rip;
	unwind_failed(t, tf, true);
	return d || tf->rip != rip;
}

bool trap_user_fault(struct trap_frame *tf)
{
	char what[96];
	uint64_t cr2 = read_cr2();
	if (tf->vector == T_PF)
		fmt_snprintf(what, sizeof what, "%s at %#lx (error %#lx)", trap_name(tf->vector),
			     cr2, tf->error_code);
	else
		fmt_snprintf(what, sizeof what, "%s (error %#lx)", trap_name(tf->vector),
			     tf->error_code);
	return gate_user_fault(tf, what);
}

static const struct {
	const char *name;
	enum inject_fault fault;
} inject_table[] = {
	{"pf", INJECT_PF}, {"gp", INJECT_GP}, {"ud", INJECT_UD},
	{"de", INJECT_DE}, {"pk", INJECT_PK},
};

enum inject_fault inject_parse(const char *name)
{
	for (unsigned i = 0; i < sizeof inject_table / sizeof inject_table[0]; i++)
		if (!strcmp(name, inject_table[i].name))
			return inject_table[i].fault;
	return INJECT_NONE;
}

const char *inject_names(void)
{
	return "pf gp ud de pk";
}
