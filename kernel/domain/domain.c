/*
 * Domain lifecycle (domain/domain.h). Creating a domain validates its image
 * completely before mapping anything (kernel/lib/elf_check.c), gives it a
 * protection key and a 1 GiB slot, maps each page with its segment's
 * rights (code is never writable), applies its relocations, and runs its
 * `_domain_start` (on the creating kernel thread, or on a thread of its own
 * when a domain creates it: run_init), where it exports its methods.
 * Destroying one is a claimed, single teardown (docs/isolation.md,
 * "Lifecycle"); who may create and destroy which is the authority model
 * ("Authority", domain/manifest.h).
 */
#include <arch/x86/cpu_features.h>
#include <arch/x86/percpu.h>
#include <arch/x86/pte.h>
#include <core/boot.h>
#include <core/log.h>
#include <core/sched.h>
#include <core/time.h>
#include <dev/device.h>
#include <domain/domain.h>
#include <domain/failures.h>
#include <domain/gate.h>
#include <domain/lifecycle_lines.h>
#include <domain/names.h>
#include <domain/observer.h>
#include <lib/cmdline.h>
#include <lib/fmt.h>
#include <lib/string.h>
#include <mm/frame.h>
#include <mm/kmalloc.h>
#include <mm/vm.h>
#include <stdarg.h>
#include <xheap/rref.h>

#define DESTROY_WAIT_NS 2000000000UL

static struct domain *domains[GATE_MAX_DOMAINS];
static uint32_t generation[GATE_MAX_DOMAINS];
static uint16_t keys_used; /* bit k: protection key k belongs to a domain */
static struct spinlock domains_lock = SPINLOCK_INIT("domains");

void domain_init(void)
{
	/*
	 * No key, no domain. The gate and every entry into a domain change
	 * rights with WRPKRU, which faults (#UD) where CR4.PKE cannot be set,
	 * and running domains unisolated would make every claim of this
	 * kernel false; so `isolation=off`, once an escape hatch for CPUs
	 * without PKU, is refused by name and never turns keys off.
	 */
	char v[8];
	bool off = cmdline_get(boot_info.cmdline, "isolation", v, sizeof v) && !strcmp(v, "off");
	if (cpu_has_pku())
		klog("domain: PKU enforces isolation: keys %d-%d for domains, %d TRUSTED, %d "
		     "SHARED, %d GATE_RO",
		     PKEY_FIRST_DOMAIN, PKEY_COUNT - 1, PKEY_TRUSTED, PKEY_SHARED, PKEY_GATE_RO);
	else
		klog("domain: no PKU on this CPU: domains will not start");
	if (off)
		klog("domain: isolation=off refused: domains always run under protection keys");
}

/* Whether domains may start here: only where PKU isolates them. */
static bool domain_isolation_ready(void)
{
	return cpu_has_pku();
}

struct domain *domain_by_id(uint32_t id)
{
	if (!id || id >= GATE_MAX_DOMAINS)
		return NULL;
	return __atomic_load_n(&domains[id], __ATOMIC_ACQUIRE);
}

struct domain *domain_get(uint32_t id)
{
	if (!id || id >= GATE_MAX_DOMAINS)
		return NULL;
	/* Under the list lock: teardown drops the table's reference only after
	 * taking the domain out of the table, so a count read here is > 0. */
	spin_lock(&domains_lock);
	struct domain *d = domains[id];
	if (d)
		__atomic_add_fetch(&d->refs, 1, __ATOMIC_RELAXED);
	spin_unlock(&domains_lock);
	return d;
}

/* names_resolve's view of the table (domains_lock held). */
static const char *slot_name(void *ctx, uint32_t id, enum domain_state *state)
{
	(void)ctx;
	struct domain *d = domains[id];
	if (!d)
		return NULL;
	*state = __atomic_load_n(&d->state, __ATOMIC_ACQUIRE);
	return d->name;
}

/* The rule is domain/names.h's (docs/isolation.md, "Names"), applied under
 * the list lock so that the domain it picks is referenced before it can go. */
struct domain *domain_get_by_name(const char *name_or_id, long *why)
{
	long w;
	spin_lock(&domains_lock);
	uint32_t id = names_resolve(name_or_id, slot_name, NULL, &w, NULL);
	struct domain *found = id ? domains[id] : NULL;
	if (found)
		__atomic_add_fetch(&found->refs, 1, __ATOMIC_RELAXED);
	spin_unlock(&domains_lock);
	if (why)
		*why = w;
	return found;
}

void domain_put(struct domain *d)
{
	if (d && __atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL) == 0)
		kfree(d);
}

bool domain_log_refusal(struct domain *d)
{
	return authority_log_refusal(d->name, d->id, &d->refusals);
}

enum domain_state domain_state_of(uint64_t handle)
{
	uint32_t id = handle_slot(handle);
	enum domain_state s = DOMAIN_GONE;
	if (!id)
		return s;
	spin_lock(&domains_lock);
	struct domain *d = domains[id];
	if (d && handle_names(handle, d->id, d->gen))
		s = __atomic_load_n(&d->state, __ATOMIC_ACQUIRE);
	spin_unlock(&domains_lock);
	return s;
}

void domain_foreach(void (*fn)(struct domain *d, void *arg), void *arg)
{
	spin_lock(&domains_lock);
	for (uint32_t i = 1; i < GATE_MAX_DOMAINS; i++)
		if (domains[i])
			fn(domains[i], arg);
	spin_unlock(&domains_lock);
}

void domain_symbolize(const struct domain *d, uint64_t addr, char *buf, uint64_t len)
{
	if (addr >= MAPLE_GATE_VA && addr < MAPLE_GATE_VA + 0x1000) {
		fmt_snprintf(buf, len, "gate+0x%lx", addr - MAPLE_GATE_VA);
		return;
	}
	if (addr < d->image_lo || addr >= d->image_hi ||
	    !elf_symbolize(d->image, d->image_size, addr - d->load_bias, buf, len))
		fmt_snprintf(buf, len, "outside %s's code", d->name);
}

static const struct bootinfo_module *find_module(const char *name)
{
	for (uint32_t i = 0; i < boot_info.module_count; i++) {
		const char *m = boot_info.modules[i].name;
		size_t n = strlen(name);
		if (!strcmp(m, name) || (!strncmp(m, name, n) && !strcmp(m + n, ".elf")))
			return &boot_info.modules[i];
	}
	return NULL;
}

/* A free id and key; 0 when none is left (err says which). */
static uint32_t reserve_slot(struct domain *d, char *err, uint64_t errlen)
{
	uint32_t id = 0;
	spin_lock(&domains_lock);
	for (uint32_t i = 1; i < GATE_MAX_DOMAINS && !id; i++)
		if (!domains[i])
			id = i;
	int key = -1;
	for (int k = PKEY_FIRST_DOMAIN; k < PKEY_COUNT && key < 0; k++)
		if (!(keys_used & (1u << k)))
			key = k;
	if (id && key >= 0) {
		d->refs = 2; /* the table's, and its creator's until create() ends */
		domains[id] = d;
		keys_used |= (uint16_t)(1u << key);
		d->id = id;
		d->gen = generation[id] = handle_next_gen(generation[id]);
		d->pkey = key;
	}
	spin_unlock(&domains_lock);
	if (!id)
		lifecycle_no_slot(err, errlen);
	else if (key < 0)
		lifecycle_no_key(err, errlen);
	return id && key >= 0 ? id : 0;
}

static void release_slot(struct domain *d)
{
	spin_lock(&domains_lock);
	domains[d->id] = NULL;
	keys_used &= (uint16_t) ~(1u << d->pkey);
	spin_unlock(&domains_lock);
}

/* Rights of image page i: those of its segment (elf_page_flags). */
static uint64_t page_rights(uint64_t i, const void *arg)
{
	const struct elf_info *info = arg;
	uint32_t f = elf_page_flags(info, info->span_lo + i * PAGE_SIZE);
	return (f & PF_W ? PTE_W : 0) | (f & PF_X ? 0 : PTE_NX);
}

/* Copy, relocate and map the image; returns 0 or -1 with err set. Its
 * frames and page tables count against d's memory limit. */
static int load_image(struct domain *d, const struct elf_info *info, char *err, uint64_t errlen)
{
	uint64_t span = info->span_hi - info->span_lo;
	uint64_t pages = span / PAGE_SIZE;
	if (pages > d->limits.mem_pages) {
		fmt_snprintf(err, errlen, "a %lu KiB image is over its memory limit of %lu KiB",
			     span >> 10, d->limits.mem_pages * 4);
		return -1;
	}
	uint64_t pa = frame_alloc_contig_domain(pages, 1);
	if (!pa) {
		fmt_snprintf(err, errlen, "no memory for a %lu KiB image", span >> 10);
		return -1;
	}
	uint8_t *loaded = phys_to_virt(pa);
	struct elf_error e;
	elf_copy_image(d->image, info, loaded);
	if (elf_apply_relocations(d->image, info, loaded, d->base, &e) < 0) {
		frame_free(pa, pages);
		fmt_snprintf(err, errlen, "%s", e.msg);
		return -1;
	}
	long rc = dmem_map_image(d, pa, pages, page_rights, info);
	if (rc < 0) {
		frame_free(pa, pages);
		fmt_snprintf(err, errlen, "cannot map its %lu KiB image: %s", span >> 10,
			     rc == -MAPLE_EQUOTA ? "over its memory limit" : "out of memory");
		return -1;
	}
	d->load_bias = d->base - info->span_lo;
	d->image_lo = d->base;
	d->image_hi = d->base + span;
	return 0;
}

/*
 * The gate's view of d's state. Sequentially consistent: the gate counts a
 * call in `active` before it reads the state (gate.S), and destroy stores a
 * non-running state before it reads `active`; with a full barrier on both
 * sides, either the gate sees the new state or destroy sees the call.
 */
static void publish(struct domain *d, uint64_t state)
{
	struct gate_domain *gd = gate_domtab(d->id);
	if (state == GATE_DOMAIN_RUNNING) {
		gd->gen = d->gen;
		gd->pkru = d->pkru;
		gd->nmethods = 0;
	}
	__atomic_store_n(&gd->state, state, __ATOMIC_SEQ_CST);
}

static void set_state(struct domain *d, enum domain_state s)
{
	spin_lock(&d->lock);
	__atomic_store_n(&d->state, s, __ATOMIC_RELEASE);
	spin_unlock(&d->lock);
}

/*
 * A new domain's init (its `_domain_start`) that a domain asked for runs on
 * a kernel thread of its own, which the creating thread waits for, sleeping
 * in the kernel. Were it
 * an upcall on the creating thread, a creator that is itself a domain (a
 * shadow in SYS_DOMAIN_CREATE) and fails meanwhile would unwind that thread
 * past this kernel frame to its own caller, and the frame, with the
 * reference it holds, would never run again. A sleeping thread is only
 * woken; it finishes the syscall and unwinds on its way back to ring 3.
 */
struct init_run {
	struct domain *d; /* the creator's reference keeps it */
	uint64_t entry;
	long result;
	uint32_t done;
};

static struct waitq init_waiters;

static void init_main(void *p)
{
	struct init_run *run = p;
	run->result = gate_upcall(run->d, run->entry, CONT_UPCALL, 0, 0, 0, 0);
	__atomic_store_n(&run->done, 1, __ATOMIC_RELEASE);
	/* run is the waiter's and may be gone from here on: only the static. */
	waitq_wake_all(&init_waiters);
}

static bool init_done(void *p)
{
	return __atomic_load_n(&((struct init_run *)p)->done, __ATOMIC_ACQUIRE);
}

static long run_init(struct domain *d, uint64_t entry)
{
	/* A kernel thread in no domain (the console, tests) has no outer call
	 * to be unwound to: the init can run right on it. */
	if (!gate_current_domain(thread_current()))
		return gate_upcall(d, entry, CONT_UPCALL, 0, 0, 0, 0);
	struct init_run run = {.d = d, .entry = entry};
	char name[THREAD_NAME_MAX];
	fmt_snprintf(name, sizeof name, "%s/init", d->name);
	if (!thread_create(name, init_main, &run))
		return -MAPLE_ENOMEM;
	waitq_wait(&init_waiters, init_done, &run);
	return run.result;
}

/*
 * Load `module` and run its init, on behalf of `creator` (a handle; 0: the
 * kernel). The new domain's handle, with *out holding a reference the
 * caller puts; 0 with err set on failure.
 */
static uint64_t create(uint64_t creator, const char *creator_name, const char *module,
		       struct domain **out, char *err, uint64_t errlen)
{
	if (!domain_isolation_ready()) {
		fmt_snprintf(err, errlen, "no PKU on this CPU: domains need protection keys");
		return 0;
	}
	const struct bootinfo_module *m = find_module(module);
	if (!m) {
		lifecycle_no_module(module, err, errlen);
		return 0;
	}
	struct elf_info info;
	struct elf_error e;
	const void *image = phys_to_virt(m->base);
	if (elf_check(image, m->size, ELF_KIND_DOMAIN, &info, &e) < 0) {
		fmt_snprintf(err, errlen, "%s: %s", m->name, e.msg);
		return 0;
	}
	if (!lifecycle_image_fits(m->name, info.span_hi - info.span_lo, err, errlen))
		return 0;
	struct domain *d = kzalloc(sizeof *d);
	if (!d) {
		fmt_snprintf(err, errlen, "out of kernel memory");
		return 0;
	}
	d->lock = (struct spinlock)SPINLOCK_INIT("domain");
	domain_limits_init(d);
	size_t n = strlen(m->name);
	if (n > 4 && !strcmp(m->name + n - 4, ".elf"))
		n -= 4;
	fmt_snprintf(d->name, sizeof d->name, "%.*s", (int)n, m->name);
	d->image = image;
	d->image_size = m->size;
	d->creator = creator;
	fmt_snprintf(d->creator_name, sizeof d->creator_name, "%s", creator_name);
	d->rref_limits = (struct rref_limits)RREF_LIMITS_DEFAULT;
	/* In the table from here on, as creating: destroy refuses it (EBUSY)
	 * until it runs, so only this thread touches its memory. */
	if (!reserve_slot(d, err, errlen)) {
		kfree(d);
		return 0;
	}
	d->pkru = PKRU_DOMAIN(d->pkey);
	d->base = slot_base(d->id);
	d->heap_next = d->base + DOMAIN_HEAP_OFF;
	if (load_image(d, &info, err, errlen) < 0) {
		set_state(d, DOMAIN_GONE);
		release_slot(d);
		domain_put(d); /* the table's */
		domain_put(d); /* ours */
		return 0;
	}
	device_grant(d);
	uint64_t h = domain_handle(d);
	/* Running, in our table and the gate's, in one step: a destroyer that
	 * fails it from here on also finds the gate's entry to fail. */
	spin_lock(&d->lock);
	__atomic_store_n(&d->state, DOMAIN_RUNNING, __ATOMIC_RELEASE);
	publish(d, GATE_DOMAIN_RUNNING);
	spin_unlock(&d->lock);
	long r = run_init(d, domain_runtime_addr(d, info.entry));
	/* Our reference kept d; a console `destroy` may still have taken the
	 * domain during its init. */
	if (d->state == DOMAIN_DESTROYING || d->state == DOMAIN_GONE) {
		fmt_snprintf(err, errlen, "%s: destroyed during its init", d->name);
		domain_put(d);
		return 0;
	}
	if (lifecycle_init_failed(d->name, r, d->state != DOMAIN_RUNNING, d->fail_reason, err,
				  errlen)) {
		char ignored[8];
		domain_fail(d, "init failed");
		domain_destroy(h, ignored, sizeof ignored); /* or another destroyer has it */
		domain_put(d);
		return 0;
	}
	domain_observe(DOMAIN_EV_CREATED, d);
	lifecycle_log_created(d->name, d->creator_name, d->id, d->pkey, d->image_hi - d->image_lo,
			      d->base, gate_domtab(d->id)->nmethods);
	*out = d;
	return h;
}

struct domain *domain_create(const char *module, char *err, uint64_t errlen)
{
	struct domain *d = NULL;
	if (!create(0, "kernel", module, &d, err, errlen))
		return NULL;
	domain_put(d);
	return d;
}

/* authority_create_by's create: the kernel's create() for `creator`. */
static uint64_t create_for(void *creator, const char *module, char *err, size_t errlen)
{
	struct domain *c = creator, *d = NULL;
	uint64_t h = create(domain_handle(c), c->name, module, &d, err, errlen);
	if (h)
		domain_put(d);
	return h;
}

long domain_create_by(struct domain *creator, const char *module)
{
	struct authority_domain who = domain_authority(creator);
	return authority_create_by(&who, module, create_for, creator);
}

/* Wake threads asleep in d's own calls, and interrupt every CPU, so that
 * each thread running in d reaches its way back to ring 3 and unwinds. A
 * thread whose innermost call is into another, running domain is that
 * domain's until it returns (gate.c, unwind_failed): its sleep is not cut
 * short. */
static bool sleeps_inside(struct thread *t, void *arg)
{
	return gate_current_domain(t) == ((struct domain *)arg)->id;
}

void domain_fail(struct domain *d, const char *fmt, ...)
{
	spin_lock(&d->lock);
	if (d->state != DOMAIN_RUNNING) {
		spin_unlock(&d->lock);
		return;
	}
	__atomic_store_n(&d->state, DOMAIN_FAILING, __ATOMIC_RELEASE);
	if (!d->fail_errno)
		d->fail_errno = MAPLE_ECALLEE;
	d->failures++;
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(d->fail_reason, sizeof d->fail_reason, fmt, ap);
	va_end(ap);
	/* Under the lock, so that no destroyer can claim d, tear it down and
	 * free its slot for a new domain before this store lands there. */
	publish(d, GATE_DOMAIN_FAILED);
	spin_unlock(&d->lock);
	/* Its PCI functions stop mastering the bus now, before its threads
	 * are woken and kicked to unwind and hand lent RRefs back to their
	 * callers; and after the failure is published, so that a racing
	 * SYS_DEVICE_BUSMASTER of d sees it and cannot start them again. */
	device_stop(d);
	domain_observe(DOMAIN_EV_FAILED, d);
	lifecycle_log_failed(d->name, d->id, d->fail_reason);
	failures_record(d);
	sched_wake_sleepers_if(sleeps_inside, d);
	sched_kick_all_cpus();
}

long domain_call(struct domain *d, uint64_t method, long a0, long a1, long a2, long a3)
{
	struct gate_domain *gd = gate_domtab(d->id);
	if (d->state != DOMAIN_RUNNING)
		return -MAPLE_EDEAD;
	if (method >= gd->nmethods)
		return -MAPLE_ESRCH;
	return gate_upcall(d, gd->methods[method], CONT_UPCALL, a0, a1, a2, a3);
}

/* failing -> destroying, for exactly one destroyer: 0, or why not. */
static int claim(struct domain *d, char *err, uint64_t errlen)
{
	spin_lock(&d->lock);
	enum domain_state s = d->state;
	if (s == DOMAIN_FAILING)
		__atomic_store_n(&d->state, DOMAIN_DESTROYING, __ATOMIC_RELEASE);
	spin_unlock(&d->lock);
	switch (s) {
	case DOMAIN_FAILING:
		return 0;
	case DOMAIN_CREATING:
		fmt_snprintf(err, errlen, "%s is still being created", d->name);
		return -MAPLE_EBUSY;
	case DOMAIN_DESTROYING:
		fmt_snprintf(err, errlen, "%s is already being destroyed", d->name);
		return -MAPLE_EBUSY;
	default: /* gone; running cannot be, domain_fail came first */
		lifecycle_no_such_domain(err, errlen);
		return -MAPLE_ESRCH;
	}
}

/* Unmap and free everything of d, which this thread has claimed. */
static void teardown(struct domain *d)
{
	publish(d, GATE_DOMAIN_FREE);
	gate_forget_domain_stacks(d->id);
	uint64_t pages = d->pages;
	domain_observe(DOMAIN_EV_RECLAIM, d);
	uint64_t rrefs = rref_reclaim(d->id);
	dmem_free(d, -1, true);
	set_state(d, DOMAIN_GONE);
	release_slot(d);
	domain_observe(DOMAIN_EV_DESTROYED, d);
	lifecycle_log_destroyed(d->name, d->id, pages, rrefs);
	domain_put(d); /* the table's */
}

int domain_destroy(uint64_t handle, char *err, uint64_t errlen)
{
	/* A reference, so that d outlives a racing destroyer's teardown. */
	struct domain *d = domain_get(handle_slot(handle));
	if (!d || !handle_names(handle, d->id, d->gen)) {
		domain_put(d);
		lifecycle_no_such_domain(err, errlen);
		return -MAPLE_ESRCH;
	}
	domain_fail(d, "destroyed");
	int r = claim(d, err, errlen);
	if (r < 0) {
		domain_put(d);
		return r;
	}
	/*
	 * d is ours. Publish its non-running state again (domain_fail may have
	 * been another CPU's, long ago; the store is idempotent), then a full
	 * barrier (the seq_cst store is an XCHG, and the fence an MFENCE)
	 * before reading `active`: the gate increments `active` before it
	 * checks the state, so a caller either sees "failed" and backs out, or
	 * is counted here and waited for. Never both missed.
	 */
	publish(d, GATE_DOMAIN_FAILED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	struct gate_domain *gd = gate_domtab(d->id);
	uint64_t deadline = time_ns() + DESTROY_WAIT_NS;
	while (__atomic_load_n(&gd->active, __ATOMIC_SEQ_CST) && time_ns() < deadline)
		thread_sleep_ns(1000000);
	uint64_t active = __atomic_load_n(&gd->active, __ATOMIC_SEQ_CST);
	if (active) {
		/* Nothing freed yet: back to failing, for a later destroy. */
		set_state(d, DOMAIN_FAILING);
		fmt_snprintf(err, errlen,
			     "%s still has %lu calls in progress after %lu ms; it stays failed, "
			     "destroy it again",
			     d->name, active, DESTROY_WAIT_NS / 1000000);
		domain_put(d);
		return -MAPLE_ETIMEDOUT;
	}
	/* Before anything of d is freed: its PCI functions must have stopped
	 * writing into its memory (dev/device.c, device_release). */
	if (!device_release(d, err, errlen)) {
		set_state(d, DOMAIN_FAILING);
		domain_put(d);
		return -MAPLE_ETIMEDOUT;
	}
	teardown(d);
	domain_put(d);
	return 0;
}

int domain_destroy_by(struct domain *caller, uint64_t handle)
{
	/* A reference, so that the target's name outlives a racing destroyer;
	 * domain_destroy takes its own. */
	struct domain *d = domain_get(handle_slot(handle));
	if (d && !handle_names(handle, d->id, d->gen)) {
		domain_put(d);
		d = NULL;
	}
	struct authority_domain who = domain_authority(caller), target;
	if (d)
		target = domain_authority(d);
	int r = authority_destroy_by(&who, d ? &target : NULL, handle, domain_destroy);
	domain_put(d);
	return r;
}
