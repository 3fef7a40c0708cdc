/*
 * Domain lifecycle (domain/domain.h), the pc platform's side: the domain
 * table, the slot and key bitmaps, references and the lifecycle states,
 * and the mechanism under each step of the one create and destroy
 * sequence (domain/lifecycle.c, shared with maple-hosted): boot modules
 * as images, contiguous frames mapped with each page's segment rights
 * under the domain's key (code is never writable), the init on the
 * creating kernel thread or on a thread of its own when a domain creates
 * it (run_init), and a destroy that claims the domain and sleeps up to
 * 2 s for calls to leave (docs/isolation.md, "Lifecycle"); who may create
 * and destroy which is the authority model ("Authority", domain/manifest.h).
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
#include <domain/lifecycle.h>
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

/* The lifecycle's image_find (domain/lifecycle.h): a boot module, by its
 * file name with or without ".elf". */
static int pc_image_find(const void *ctx, const char *module, struct lifecycle_image *img,
			 char *err, size_t errlen)
{
	(void)ctx;
	size_t n = strlen(module);
	for (uint32_t i = 0; i < boot_info.module_count; i++) {
		const struct bootinfo_module *m = &boot_info.modules[i];
		if (!strcmp(m->name, module) ||
		    (!strncmp(m->name, module, n) && !strcmp(m->name + n, ".elf"))) {
			img->bytes = phys_to_virt(m->base);
			img->size = m->size;
			fmt_snprintf(img->file, sizeof img->file, "%s", m->name);
			return 0;
		}
	}
	lifecycle_no_module(module, err, errlen);
	return -1;
}

static bool pc_ready(char *err, size_t errlen)
{
	if (!domain_isolation_ready())
		fmt_snprintf(err, errlen, "no PKU on this CPU: domains need protection keys");
	return domain_isolation_ready();
}

static void *pc_domain_new(const struct lifecycle_new *n, struct lifecycle_dom *v, char *err,
			   size_t errlen)
{
	struct domain *d = kzalloc(sizeof *d);
	if (!d) {
		fmt_snprintf(err, errlen, "out of kernel memory");
		return NULL;
	}
	d->lock = (struct spinlock)SPINLOCK_INIT("domain");
	domain_limits_init(d);
	fmt_snprintf(d->name, sizeof d->name, "%s", n->name);
	d->image = n->image->bytes;
	d->image_size = n->image->size;
	d->creator = n->creator;
	fmt_snprintf(d->creator_name, sizeof d->creator_name, "%s", n->creator_name);
	d->rref_limits = (struct rref_limits)RREF_LIMITS_DEFAULT;
	v->mem_pages = d->limits.mem_pages;
	return d;
}

static void pc_domain_free(void *d)
{
	kfree(d);
}

/* The lifecycle's view of d. */
static void view(struct domain *d, struct lifecycle_dom *v)
{
	*v = (struct lifecycle_dom){.d = d,
				    .id = d->id,
				    .gen = d->gen,
				    .key = d->pkey,
				    .base = d->base,
				    .mem_pages = d->limits.mem_pages};
	fmt_snprintf(v->name, sizeof v->name, "%s", d->name);
}

/* A free id and key for d, in the table as creating: 0, or -1 with err
 * saying which is missing. */
static int pc_slot_take(void *dp, struct lifecycle_dom *v, char *err, size_t errlen)
{
	struct domain *d = dp;
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
	if (!id || key < 0)
		return -1;
	d->pkru = PKRU_DOMAIN(d->pkey);
	d->base = slot_base(d->id);
	d->heap_next = d->base + DOMAIN_HEAP_OFF;
	view(d, v);
	return 0;
}

static void release_slot(struct domain *d)
{
	spin_lock(&domains_lock);
	domains[d->id] = NULL;
	keys_used &= (uint16_t) ~(1u << d->pkey);
	spin_unlock(&domains_lock);
}

static void set_state(struct domain *d, enum domain_state s)
{
	spin_lock(&d->lock);
	__atomic_store_n(&d->state, s, __ATOMIC_RELEASE);
	spin_unlock(&d->lock);
}

static void pc_slot_release(void *dp)
{
	struct domain *d = dp;
	set_state(d, DOMAIN_GONE);
	release_slot(d);
	domain_put(d); /* the table's */
	domain_put(d); /* its creator's */
}

/* The image's room: contiguous frames, reached through the direct map. */
static uint8_t *pc_image_room(void *d, const struct lifecycle_dom *v,
			      const struct lifecycle_image *img, char *err, size_t errlen)
{
	(void)d, (void)v;
	uint64_t pages = (img->info.span_hi - img->info.span_lo) / PAGE_SIZE;
	uint64_t pa = frame_alloc_contig_domain(pages, 1);
	if (!pa) {
		fmt_snprintf(err, errlen, "no memory for a %lu KiB image", pages * 4);
		return NULL;
	}
	return phys_to_virt(pa);
}

static void pc_image_room_free(void *d, const struct lifecycle_image *img, uint8_t *room)
{
	(void)d;
	frame_free(virt_to_phys(room), (img->info.span_hi - img->info.span_lo) / PAGE_SIZE);
}

/* Rights of image page i: those of its segment (elf_page_flags). */
static uint64_t page_rights(uint64_t i, const void *arg)
{
	const struct elf_info *info = arg;
	uint32_t f = elf_page_flags(info, info->span_lo + i * PAGE_SIZE);
	return (f & PF_W ? PTE_W : 0) | (f & PF_X ? 0 : PTE_NX);
}

/* Map the image's frames under d's key. They and the page tables the map
 * makes count against d's memory limit. */
static int pc_image_map(void *dp, const struct lifecycle_dom *v, const struct lifecycle_image *img,
			uint8_t *room, char *err, size_t errlen)
{
	(void)v;
	struct domain *d = dp;
	const struct elf_info *info = &img->info;
	uint64_t span = info->span_hi - info->span_lo, pages = span / PAGE_SIZE;
	long rc = dmem_map_image(d, virt_to_phys(room), pages, page_rights, info);
	if (rc < 0) {
		pc_image_room_free(d, img, room);
		fmt_snprintf(err, errlen, "cannot map its %lu KiB image: %s", span >> 10,
			     rc == -MAPLE_EQUOTA ? "over its memory limit" : "out of memory");
		return -1;
	}
	d->load_bias = d->base - info->span_lo;
	d->image_lo = d->base;
	d->image_hi = d->base + span;
	return 0;
}

static void pc_grant(void *d)
{
	device_grant(d);
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

/* Running, in our table and the gate's, in one step: a destroyer that fails
 * it from here on also finds the gate's entry to fail. */
static void pc_publish(void *dp)
{
	struct domain *d = dp;
	spin_lock(&d->lock);
	__atomic_store_n(&d->state, DOMAIN_RUNNING, __ATOMIC_RELEASE);
	publish(d, GATE_DOMAIN_RUNNING);
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

static enum lifecycle_init pc_run_init(void *dp, uint64_t entry, long *r, const char **why)
{
	struct domain *d = dp;
	*r = run_init(d, entry);
	/* Create's reference kept d; a console `destroy` may still have taken
	 * the domain during its init. */
	enum domain_state s = __atomic_load_n(&d->state, __ATOMIC_ACQUIRE);
	if (s == DOMAIN_DESTROYING || s == DOMAIN_GONE)
		return LIFECYCLE_INIT_DESTROYED;
	*why = d->fail_reason;
	return s == DOMAIN_RUNNING ? LIFECYCLE_INIT_RAN : LIFECYCLE_INIT_FAILED;
}

static uint64_t pc_methods(void *dp)
{
	return gate_domtab(((struct domain *)dp)->id)->nmethods;
}

static void pc_created(void *d)
{
	domain_observe(DOMAIN_EV_CREATED, d);
}

static void *pc_get(uint32_t id, struct lifecycle_dom *v)
{
	struct domain *d = domain_get(id);
	if (d)
		view(d, v);
	return d;
}

static void pc_put(void *d)
{
	domain_put(d);
}

static void pc_fail(void *d, const char *why)
{
	domain_fail(d, "%s", why);
}

/* failing -> destroying, for exactly one destroyer: 0, or why not. */
static int pc_claim(void *dp, char *err, size_t errlen)
{
	struct domain *d = dp;
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

/*
 * Wait up to DESTROY_WAIT_NS for calls to leave d, which this thread has
 * claimed. Publish its non-running state again (domain_fail may have been
 * another CPU's, long ago; the store is idempotent), then a full barrier
 * (the seq_cst store is an XCHG, and the fence an MFENCE) before reading
 * `active`: the gate increments `active` before it checks the state, so a
 * caller either sees "failed" and backs out, or is counted here and waited
 * for. Never both missed.
 */
static uint64_t pc_drain(void *dp, uint64_t *waited_ms)
{
	struct domain *d = dp;
	publish(d, GATE_DOMAIN_FAILED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	struct gate_domain *gd = gate_domtab(d->id);
	uint64_t deadline = time_ns() + DESTROY_WAIT_NS;
	while (__atomic_load_n(&gd->active, __ATOMIC_SEQ_CST) && time_ns() < deadline)
		thread_sleep_ns(1000000);
	*waited_ms = DESTROY_WAIT_NS / 1000000;
	return __atomic_load_n(&gd->active, __ATOMIC_SEQ_CST);
}

/* Nothing freed: back to failing, for a later destroy. */
static void pc_stays_failed(void *d)
{
	set_state(d, DOMAIN_FAILING);
}

/* Its PCI functions must have stopped writing into its memory
 * (dev/device.c, device_release). */
static bool pc_release_devices(void *d, char *err, size_t errlen)
{
	return device_release(d, err, errlen);
}

/* Unmap and free everything of d, which this thread has claimed. */
static void pc_teardown(void *dp, uint64_t *pages, uint64_t *rrefs)
{
	struct domain *d = dp;
	publish(d, GATE_DOMAIN_FREE);
	gate_forget_domain(d->id);
	*pages = d->pages;
	domain_observe(DOMAIN_EV_RECLAIM, d);
	*rrefs = rref_reclaim(d->id);
	dmem_free(d, -1, true);
	set_state(d, DOMAIN_GONE);
	release_slot(d);
	domain_observe(DOMAIN_EV_DESTROYED, d);
	domain_put(d); /* the table's; the destroyer holds its own */
}

/* The pc platform's mechanism under the one lifecycle sequence. */
static const struct lifecycle_platform pc_platform = {
	.ready = pc_ready,
	.image_find = pc_image_find,
	.domain_new = pc_domain_new,
	.domain_free = pc_domain_free,
	.slot_take = pc_slot_take,
	.slot_release = pc_slot_release,
	.image_room = pc_image_room,
	.image_map = pc_image_map,
	.image_room_free = pc_image_room_free,
	.grant = pc_grant,
	.publish = pc_publish,
	.run_init = pc_run_init,
	.methods = pc_methods,
	.created = pc_created,
	.get = pc_get,
	.put = pc_put,
	.fail = pc_fail,
	.claim = pc_claim,
	.drain = pc_drain,
	.stays_failed = pc_stays_failed,
	.release_devices = pc_release_devices,
	.teardown = pc_teardown,
};

/* The module's domain for `creator` (0: the kernel), by the one sequence:
 * its handle with *out holding create's reference, which the caller puts. */
static uint64_t create(uint64_t creator, const char *creator_name, const char *module,
		       struct domain **out, char *err, uint64_t errlen)
{
	void *d = NULL;
	uint64_t h = lifecycle_create(&pc_platform, NULL, module, creator, creator_name, &d, err,
				      errlen);
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

int domain_destroy(uint64_t handle, char *err, uint64_t errlen)
{
	return lifecycle_destroy(&pc_platform, handle, err, errlen);
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
