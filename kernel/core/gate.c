/*
 * The kernel's side of the gate (core/gate.h). The gate itself
 * (arch/pc/gate.S) pushes and pops continuations in user mode; the kernel
 * pushes them for upcalls and pops them when it unwinds a thread out of a
 * failed domain. Continuations and the domain table live in TRUSTED user
 * pages; the kernel reaches them through the direct map.
 */
#include <arch/pc/cpu.h>
#include <arch/pc/pte.h>
#include <arch/pc/traps.h>
#include <core/domain.h>
#include <core/gate.h>
#include <core/log.h>
#include <core/panic.h>
#include <core/rref.h>
#include <core/thread.h>
#include <core/tlb.h>
#include <core/usermode.h>
#include <core/watchdog.h>
#include <maple/fmt.h>
#include <maple/frame.h>
#include <maple/string.h>
#include <mm/kmalloc.h>
#include <mm/vm.h>

#define SLOT_WORDS (GATE_MAX_THREADS / 64)

extern const char __gate_start[], __gate_end[];
extern const char gate_fault_pf[], gate_fault_gp[], gate_fault_ud[], gate_fault_de[],
	gate_fault_pk[];

static struct gate_domain *domtab;
static uint64_t slot_used[SLOT_WORDS];
static struct thread_gate *slot_owner[GATE_MAX_THREADS];
static struct spinlock slot_lock = SPINLOCK_INIT("gate-slots");

static uint64_t pte_key(int key)
{
	return (uint64_t)key << PTE_PKEY_SHIFT;
}

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

static void slot_put(int slot)
{
	spin_lock(&slot_lock);
	slot_used[slot / 64] &= ~(1ULL << (slot % 64));
	slot_owner[slot] = NULL;
	spin_unlock(&slot_lock);
}

/* Map the thread's GATE_RO page and TRUSTED pages; returns 0 or -1. */
static int map_thread_pages(struct thread_gate *g, uint64_t ro_pa, uint64_t tt_pa)
{
	uint64_t tt_pages = (GATE_THREAD_TRUSTED_SIZE + PAGE_SIZE - 1) / PAGE_SIZE;
	if (vm_map_page(g->ro_va, ro_pa, PTE_U | PTE_W | PTE_NX | pte_key(PKEY_GATE_RO)) < 0)
		return -1;
	for (uint64_t i = 0; i < tt_pages; i++)
		if (vm_map_page(g->tt_va + i * PAGE_SIZE, tt_pa + i * PAGE_SIZE,
				PTE_U | PTE_W | PTE_NX | pte_key(PKEY_TRUSTED)) < 0)
			return -1;
	return 0;
}

struct thread_gate *gate_thread(struct thread *t)
{
	if (t->gate)
		return t->gate;
	uint64_t tt_pages = (GATE_THREAD_TRUSTED_SIZE + PAGE_SIZE - 1) / PAGE_SIZE;
	struct thread_gate *g = kzalloc(sizeof *g);
	int slot = g ? slot_take() : -1;
	uint64_t ro_pa = slot >= 0 ? frame_alloc() : 0;
	uint64_t tt_pa = ro_pa ? frame_alloc_contig(tt_pages, 1) : 0;
	if (!tt_pa) {
		if (ro_pa)
			frame_free(ro_pa, 1);
		if (slot >= 0)
			slot_put(slot);
		kfree(g);
		return NULL;
	}
	memset(phys_to_virt(ro_pa), 0, PAGE_SIZE);
	memset(phys_to_virt(tt_pa), 0, tt_pages * PAGE_SIZE);
	g->slot = slot;
	g->ro_va = GATE_THREADS_VA + (uint64_t)slot * GATE_THREAD_SLOT;
	g->tt_va = g->ro_va + GATE_THREAD_RO_SIZE;
	g->ro = phys_to_virt(ro_pa);
	g->tt = phys_to_virt(tt_pa);
	/* Slots are reused only after their pages were revoked everywhere. */
	if (map_thread_pages(g, ro_pa, tt_pa) < 0)
		panic("gate: thread slot %d is still mapped", slot);
	g->ro->self = g->ro_va;
	g->ro->expected_pkru = t->pkru;
	g->ro->domain = 0;
	g->ro->trusted = g->tt_va;
	g->ro->depth_limit = g->tt_va + GTT_CONTS + CONT_SIZE * GATE_MAX_DEPTH;
	g->tt->cont_top = g->tt_va + GTT_CONTS;
	spin_lock(&slot_lock);
	slot_owner[slot] = g;
	spin_unlock(&slot_lock);
	t->gate = g;
	t->user_gs = g->ro_va;
	arch_set_user_gs(g->ro_va);
	return g;
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
	uint64_t tt_pages = (GATE_THREAD_TRUSTED_SIZE + PAGE_SIZE - 1) / PAGE_SIZE;
	unmap_region(g->ro_va, 1 + tt_pages, true); /* the RO page and the TRUSTED pages follow */
	t->gate = NULL;
	t->user_gs = 0;
	arch_set_user_gs(0);
	slot_put(g->slot);
	kfree(g);
}

void gate_forget_domain_stacks(uint32_t id)
{
	spin_lock(&slot_lock);
	for (int i = 0; i < GATE_MAX_THREADS; i++)
		if (slot_owner[i])
			slot_owner[i]->tt->domain_sp[id] = 0;
	spin_unlock(&slot_lock);
}

/* Number of continuations on the thread's stack; panics on a corrupt top,
 * which only the gate or the kernel could have written. */
static uint64_t depth(const struct thread_gate *g)
{
	uint64_t off = g->tt->cont_top - (g->tt_va + GTT_CONTS);
	if (off % CONT_SIZE || off / CONT_SIZE > GATE_MAX_DEPTH)
		panic("gate: thread slot %d has a corrupt continuation stack", g->slot);
	return off / CONT_SIZE;
}

uint32_t gate_current_domain(struct thread *t)
{
	return t->gate ? (uint32_t)t->gate->ro->domain : 0;
}

bool gate_thread_inside(struct thread *t, uint32_t id)
{
	struct thread_gate *g = t->gate;
	if (!g)
		return false;
	for (uint64_t i = 0, n = depth(g); i < n; i++)
		if (g->tt->conts[i].callee == id)
			return true;
	return false;
}

/* Undo the innermost continuation's effects on the thread's gate state. */
static void pop_one(struct thread_gate *g)
{
	uint64_t n = depth(g);
	struct continuation *c = &g->tt->conts[n - 1];
	__atomic_sub_fetch(&domtab[c->callee % GATE_MAX_DOMAINS].active, 1, __ATOMIC_RELAXED);
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
	g->tt->cont_top -= CONT_SIZE;
	g->ctx[n - 1] = NULL;
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
	struct thread_gate *g = gate_thread(t);
	if (!g)
		return -MAPLE_ENOMEM;
	uint64_t n = depth(g);
	if (n >= GATE_MAX_DEPTH)
		return -MAPLE_ENOMEM;
	if (d->state != DOMAIN_RUNNING)
		return -MAPLE_EDEAD;
	uint64_t sp = g->tt->domain_sp[d->id];
	if (!sp) {
		sp = dmem_stack_alloc(d, g->slot);
		if (!sp)
			return -MAPLE_ENOMEM;
		g->tt->domain_sp[d->id] = sp;
	}
	uint32_t caller = (uint32_t)g->ro->domain;
	struct continuation *c = &g->tt->conts[n];
	*c = (struct continuation){
		.kind = (uint64_t)kind,
		.caller = caller,
		.callee = d->id,
		.caller_pkru = arch_get_pkru(), /* t->pkru is stale inside a domain */
		.callee_sp = sp,
		.caller_sp = g->tt->domain_sp[caller],
		.start_tsc = rdtsc(),
	};
	struct upcall_ctx ctx;
	g->ctx[n] = &ctx;
	g->tt->cont_top += CONT_SIZE;
	__atomic_add_fetch(&domtab[d->id].active, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&domtab[d->id].calls, 1, __ATOMIC_RELAXED);
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
	struct upcall_ctx *ctx = g->ctx[n - 1];
	pop_one(g);
	upcall_resume(ctx, value);
}

void gate_exit_thread(void)
{
	struct thread_gate *g = thread_current()->gate;
	uint64_t n = g ? depth(g) : 0;
	uint64_t k = 0;
	while (k < n && !g->ctx[k])
		k++;
	if (k == n)
		return;
	struct upcall_ctx *ctx = g->ctx[k];
	while (depth(g) > k)
		pop_one(g);
	upcall_resume(ctx, 0);
}

/* Unwind to the outermost continuation into a domain that is no longer
 * running: everything above it ran on that domain's behalf. */
static void unwind_failed(struct thread *t, struct trap_frame *tf)
{
	struct thread_gate *g = t->gate;
	uint64_t n = depth(g), k;
	struct domain *dead = NULL;
	for (k = 0; k < n; k++) {
		dead = domain_by_id((uint32_t)g->tt->conts[k].callee);
		if (!dead || dead->state != DOMAIN_RUNNING)
			break;
	}
	if (k == n)
		return;
	long err = dead && dead->fail_errno ? -dead->fail_errno : -MAPLE_ECALLEE;
	struct continuation c = g->tt->conts[k];
	struct upcall_ctx *ctx = g->ctx[k];
	while (depth(g) > k)
		pop_one(g);
	if (c.kind != CONT_XCALL)
		upcall_resume(ctx, err);
	tf->rip = c.return_rip;
	tf->rsp = c.caller_rsp;
	tf->rbx = c.rbx;
	tf->rbp = c.rbp;
	tf->r12 = c.r12;
	tf->r13 = c.r13;
	tf->r14 = c.r14;
	tf->r15 = c.r15;
	tf->rax = (uint64_t)err;
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
	unwind_failed(t, tf);
}

bool gate_user_fault(struct trap_frame *tf, const char *what)
{
	struct thread *t = thread_current();
	struct domain *d = t->gate ? domain_by_id((uint32_t)t->gate->ro->domain) : NULL;
	if (!d)
		return false;
	char where[64];
	domain_symbolize(d, tf->rip, where, sizeof where);
	domain_fail(d, "%s, rip %#lx (%s)", what, tf->rip, where);
	gate_return_to_user(tf);
	return true;
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
