/*
 * Domain lifecycle (core/domain.h). Creating a domain validates its image
 * completely before mapping anything (kernel/lib/elf_check.c), gives it a
 * protection key and a 1 GiB slot, maps each page with its segment's
 * rights (code is never writable), applies its relocations, and runs its
 * `_domain_start` on the creating thread, where it exports its methods.
 */
#include <arch/pc/cpu_features.h>
#include <arch/pc/percpu.h>
#include <arch/pc/pte.h>
#include <core/boot.h>
#include <core/device.h>
#include <core/domain.h>
#include <core/gate.h>
#include <core/log.h>
#include <core/rref.h>
#include <core/sched.h>
#include <core/time.h>
#include <maple/cmdline.h>
#include <maple/fmt.h>
#include <maple/frame.h>
#include <maple/string.h>
#include <mm/kmalloc.h>
#include <mm/vm.h>
#include <stdarg.h>

#define DESTROY_WAIT_NS 2000000000UL

static struct domain *domains[GATE_MAX_DOMAINS];
static uint32_t generation[GATE_MAX_DOMAINS];
static uint16_t keys_used; /* bit k: protection key k belongs to a domain */
static struct spinlock domains_lock = SPINLOCK_INIT("domains");
static bool isolation_off;

void domain_init(void)
{
	char v[8];
	isolation_off =
		cmdline_get(boot_info.cmdline, "isolation", v, sizeof v) && !strcmp(v, "off");
	if (cpu_has_pku())
		klog("domain: PKU enforces isolation: keys %d-%d for domains, %d TRUSTED, %d "
		     "SHARED, "
		     "%d GATE_RO",
		     PKEY_FIRST_DOMAIN, PKEY_COUNT - 1, PKEY_TRUSTED, PKEY_SHARED, PKEY_GATE_RO);
	else if (isolation_off)
		klog("domain: WARNING: no PKU and isolation=off: domains run WITHOUT isolation; "
		     "any domain can read and write any other");
	else
		klog("domain: no PKU on this CPU: domains will not start (isolation=off overrides, "
		     "unsafely)");
}

bool domain_isolation_ready(void)
{
	return cpu_has_pku() || isolation_off;
}

struct domain *domain_by_id(uint32_t id)
{
	if (!id || id >= GATE_MAX_DOMAINS)
		return NULL;
	return __atomic_load_n(&domains[id], __ATOMIC_ACQUIRE);
}

struct domain *domain_find(const char *name_or_id)
{
	uint64_t id = 0;
	const char *p = name_or_id;
	while (*p >= '0' && *p <= '9' && id < GATE_MAX_DOMAINS)
		id = id * 10 + (uint64_t)(*p++ - '0');
	if (p != name_or_id && !*p)
		return domain_by_id((uint32_t)id);
	struct domain *found = NULL;
	spin_lock(&domains_lock);
	for (uint32_t i = 1; i < GATE_MAX_DOMAINS && !found; i++)
		if (domains[i] && !strcmp(domains[i]->name, name_or_id))
			found = domains[i];
	spin_unlock(&domains_lock);
	return found;
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
		domains[id] = d;
		keys_used |= (uint16_t)(1u << key);
		d->id = id;
		d->gen = ++generation[id];
		d->pkey = key;
	}
	spin_unlock(&domains_lock);
	if (!id)
		fmt_snprintf(err, errlen, "all %d domain slots are in use", GATE_MAX_DOMAINS - 1);
	else if (key < 0)
		fmt_snprintf(err, errlen,
			     "no protection key left (%d domains hold the %d domain keys)",
			     PKEY_COUNT - PKEY_FIRST_DOMAIN, PKEY_COUNT - PKEY_FIRST_DOMAIN);
	return id && key >= 0 ? id : 0;
}

static void release_slot(struct domain *d)
{
	spin_lock(&domains_lock);
	domains[d->id] = NULL;
	keys_used &= (uint16_t) ~(1u << d->pkey);
	spin_unlock(&domains_lock);
}

/* Rights of the image page at link address va: those of its segment. */
static uint64_t page_rights(const struct elf_info *info, uint64_t va)
{
	for (unsigned i = 0; i < info->nsegs; i++) {
		const struct elf_segment *s = &info->seg[i];
		uint64_t lo = s->vaddr & ~(PAGE_SIZE - 1), hi = s->vaddr + s->memsz;
		if (va >= lo && va < hi)
			return (s->flags & PF_W ? PTE_W : 0) | (s->flags & PF_X ? 0 : PTE_NX);
	}
	return PTE_NX; /* a gap between segments: zeros, read-only */
}

/* Copy, relocate and map the image; returns 0 or -1 with err set. */
static int load_image(struct domain *d, const struct elf_info *info, char *err, uint64_t errlen)
{
	uint64_t span = info->span_hi - info->span_lo;
	uint64_t pages = span / PAGE_SIZE;
	uint64_t pa = frame_alloc_contig(pages, 1);
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
	for (uint64_t i = 0; i < pages; i++) {
		uint64_t flags = page_rights(info, info->span_lo + i * PAGE_SIZE);
		vm_map_page(d->base + i * PAGE_SIZE, pa + i * PAGE_SIZE,
			    flags | PTE_U | ((uint64_t)d->pkey << PTE_PKEY_SHIFT));
	}
	struct domain_region *r = kzalloc(sizeof *r);
	if (!r) {
		for (uint64_t i = 0; i < pages; i++)
			vm_unmap_page(d->base + i * PAGE_SIZE);
		frame_free(pa, pages);
		fmt_snprintf(err, errlen, "out of kernel memory");
		return -1;
	}
	*r = (struct domain_region){.va = d->base, .pages = pages, .thread_slot = -1};
	d->regions = r;
	d->pages = pages;
	d->load_bias = d->base - info->span_lo;
	d->image_lo = d->base;
	d->image_hi = d->base + span;
	return 0;
}

static void publish(struct domain *d, uint64_t state)
{
	struct gate_domain *gd = gate_domtab(d->id);
	if (state == GATE_DOMAIN_RUNNING) {
		gd->gen = d->gen;
		gd->pkru = d->pkru;
		gd->nmethods = 0;
	}
	__atomic_store_n(&gd->state, state, __ATOMIC_RELEASE);
}

struct domain *domain_create(const char *module, char *err, uint64_t errlen)
{
	if (!domain_isolation_ready()) {
		fmt_snprintf(err, errlen,
			     "no PKU on this CPU (isolation=off would run it unisolated)");
		return NULL;
	}
	const struct bootinfo_module *m = find_module(module);
	if (!m) {
		fmt_snprintf(err, errlen, "no boot module named '%s'", module);
		return NULL;
	}
	struct elf_info info;
	struct elf_error e;
	const void *image = phys_to_virt(m->base);
	if (elf_check(image, m->size, ELF_KIND_DOMAIN, &info, &e) < 0) {
		fmt_snprintf(err, errlen, "%s: %s", m->name, e.msg);
		return NULL;
	}
	if (info.span_hi - info.span_lo > DOMAIN_IMAGE_MAX) {
		fmt_snprintf(err, errlen, "%s: image spans more than %lu MiB", m->name,
			     DOMAIN_IMAGE_MAX >> 20);
		return NULL;
	}
	struct domain *d = kzalloc(sizeof *d);
	if (!d) {
		fmt_snprintf(err, errlen, "out of kernel memory");
		return NULL;
	}
	d->lock = (struct spinlock)SPINLOCK_INIT("domain");
	size_t n = strlen(m->name);
	if (n > 4 && !strcmp(m->name + n - 4, ".elf"))
		n -= 4;
	fmt_snprintf(d->name, sizeof d->name, "%.*s", (int)n, m->name);
	d->image = image;
	d->image_size = m->size;
	d->rref_limits = (struct rref_limits)RREF_LIMITS_DEFAULT;
	if (!reserve_slot(d, err, errlen)) {
		kfree(d);
		return NULL;
	}
	d->pkru = isolation_off && !cpu_has_pku() ? 0 : PKRU_DOMAIN(d->pkey);
	d->base = MAPLE_DOMAIN_BASE + (uint64_t)d->id * MAPLE_DOMAIN_SLOT;
	d->heap_next = d->base + DOMAIN_HEAP_OFF;
	if (load_image(d, &info, err, errlen) < 0) {
		release_slot(d);
		kfree(d);
		return NULL;
	}
	d->state = DOMAIN_RUNNING;
	publish(d, GATE_DOMAIN_RUNNING);
	long r = gate_upcall(d, domain_runtime_addr(d, info.entry), CONT_UPCALL, 0, 0, 0, 0);
	if (r < 0 || d->state != DOMAIN_RUNNING) {
		if (d->state == DOMAIN_RUNNING)
			fmt_snprintf(err, errlen, "%s: domain_main returned %ld", d->name, r);
		else
			fmt_snprintf(err, errlen, "%s: init failed: %s", d->name, d->fail_reason);
		char ignored[8];
		domain_fail(d, "init failed");
		domain_destroy(domain_handle(d), ignored, sizeof ignored);
		return NULL;
	}
	klog("domain: %s created: id %u, key %d, %lu KiB image at %#lx, %lu methods", d->name,
	     d->id, d->pkey, (d->image_hi - d->image_lo) >> 10, d->base,
	     gate_domtab(d->id)->nmethods);
	return d;
}

/* Wake threads asleep inside d, and interrupt every CPU, so that each
 * thread inside it reaches its way back to ring 3 and unwinds. */
static bool sleeps_inside(struct thread *t, void *arg)
{
	return gate_thread_inside(t, ((struct domain *)arg)->id);
}

void domain_fail(struct domain *d, const char *fmt, ...)
{
	spin_lock(&d->lock);
	if (d->state != DOMAIN_RUNNING) {
		spin_unlock(&d->lock);
		return;
	}
	d->state = DOMAIN_FAILED;
	if (!d->fail_errno)
		d->fail_errno = MAPLE_ECALLEE;
	d->failures++;
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(d->fail_reason, sizeof d->fail_reason, fmt, ap);
	va_end(ap);
	spin_unlock(&d->lock);
	publish(d, GATE_DOMAIN_FAILED);
	klog("domain: %s (id %u) failed: %s", d->name, d->id, d->fail_reason);
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
	struct domain *d = domain_by_id((uint32_t)(handle & HANDLE_ID_MASK));
	if (!d || d->gen != handle >> HANDLE_GEN_SHIFT) {
		fmt_snprintf(err, errlen, "no such domain (already destroyed?)");
		return -1;
	}
	domain_fail(d, "destroyed");
	struct gate_domain *gd = gate_domtab(d->id);
	uint64_t deadline = time_ns() + DESTROY_WAIT_NS;
	while (__atomic_load_n(&gd->active, __ATOMIC_ACQUIRE) && time_ns() < deadline)
		thread_sleep_ns(1000000);
	uint64_t active = __atomic_load_n(&gd->active, __ATOMIC_ACQUIRE);
	if (active) {
		fmt_snprintf(err, errlen, "%s still has %lu calls in progress", d->name, active);
		return -1;
	}
	publish(d, GATE_DOMAIN_FREE);
	gate_forget_domain_stacks(d->id);
	uint64_t pages = d->pages;
	uint64_t rrefs = rref_reclaim(d->id);
	device_release(d);
	dmem_free(d, -1, true);
	release_slot(d);
	klog("domain: %s (id %u) destroyed, %lu pages and %lu RRefs returned", d->name, d->id,
	     pages, rrefs);
	kfree(d);
	return 0;
}
