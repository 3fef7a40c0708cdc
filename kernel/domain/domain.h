/*
 * Isolation domains (DESIGN.md §4): separately loaded PIE images running in
 * ring 3 in the one address space, each with its own protection key.
 * Lifecycle (docs/isolation.md, "Lifecycle"): creating -> running ->
 * failing -> destroying -> gone, and created again from the same image.
 */
#ifndef CORE_DOMAIN_H
#define CORE_DOMAIN_H

#include <core/spinlock.h>
#include <domain/gate_layout.h>
#include <lib/elf.h>
#include <stdbool.h>
#include <stdint.h>
#include <xheap/rref.h>

/*
 * Every transition happens under the domain's lock (docs/isolation.md,
 * "Lifecycle"):
 *   creating -> running     its creator, once the image is mapped
 *   creating -> gone        its creator, when loading fails
 *   running -> failing      domain_fail: a fault, panic, watchdog, kill, or
 *                           the first step of a destroy
 *   failing -> destroying   domain_destroy: exactly one destroyer claims it;
 *                           any other gets -MAPLE_EBUSY
 *   destroying -> failing   the claimed destroy timed out waiting for calls
 *                           to leave: nothing was freed, destroy it again
 *   destroying -> gone      teardown done, out of the table; the struct
 *                           lives until its last reference is put
 */
enum domain_state {
	DOMAIN_CREATING = 0,
	DOMAIN_RUNNING,
	DOMAIN_FAILING,
	DOMAIN_DESTROYING,
	DOMAIN_GONE,
};

/* One mapped range of a domain's memory; every frame in it is the domain's. */
struct domain_region {
	uint64_t va;
	uint64_t pages;
	int32_t thread_slot; /* a thread's stack: that thread's gate slot; else -1 */
	bool device;	     /* a device's memory: unmapped, never freed, with the domain */
	uint64_t dma_pa;     /* DMA memory: the bus address of va (contiguous); else 0 */
	struct domain_region *next;
};

/*
 * What one domain may hold at once (docs/isolation.md, "Limits"). The
 * creation path fills them with domain_limits_init before anything is
 * mapped; a domain over one gets -MAPLE_EQUOTA (memory) or -MAPLE_EAGAIN
 * (threads) and runs on.
 */
struct domain_limits {
	uint64_t mem_pages; /* frames: image, heap, stacks and their page tables */
	uint32_t threads;   /* threads it made with SYS_THREAD_CREATE, alive at once */
};

/* Defaults: a quarter of the machine's frames, and 16 threads. */
#define DOMAIN_MEM_SHARE       4
#define DOMAIN_THREADS_DEFAULT 16

struct domain {
	uint32_t id; /* slot in the domain table, 1..GATE_MAX_DOMAINS-1 */
	uint32_t gen;
	enum domain_state state;
	char name[MAPLE_DOMAIN_NAME_MAX];
	int pkey;
	uint32_t pkru;
	uint64_t base;	      /* start of the domain's 1 GiB slot */
	uint64_t load_bias;   /* run-time address minus link-time address */
	uint64_t heap_next;   /* where the next heap region goes */
	uint64_t stack_next;  /* where the next thread stack goes */
	const uint8_t *image; /* the boot module (direct map), for symbols */
	uint64_t image_size;
	uint64_t pages; /* user pages mapped for it right now */
	struct domain_region *regions;
	uint64_t image_lo, image_hi; /* run-time span of the image */
	uint64_t failures;
	uint64_t syscalls;
	struct domain_limits limits;
	uint64_t mem_charged; /* frames charged against limits.mem_pages (under lock) */
	uint64_t tables;      /* of which page tables */
	int fail_errno;	      /* what unwound callers get: ECALLEE or ETIMEDOUT */
	int inject;	      /* enum inject_fault, taken by the next thread inside */
	char fail_reason[128];
	/* Authority (docs/isolation.md): who created it, for destroy and for
	 * device succession. 0 and "kernel": the kernel or the console. */
	uint64_t creator;
	char creator_name[MAPLE_DOMAIN_NAME_MAX];
	/* The table's reference while it is in the table, plus one per holder
	 * of domain_get/domain_get_by_name; freed when the last is put. */
	uint32_t refs;
	uint64_t refusals; /* requests refused (authority, create, destroy) */
	/* SYS_LOG's budget (DOMAIN_LOG_*), under lock: lines it may still
	 * write, when it last earned one, and whether it has been told. */
	uint64_t log_tokens;
	uint64_t log_earned_ns;
	bool log_over_noted;
	struct rref_limits rref_limits; /* set at creation (defaults for now) */
	struct spinlock lock;
};

static inline uint64_t domain_handle(const struct domain *d)
{
	return d->id | ((uint64_t)d->gen << HANDLE_GEN_SHIFT);
}

/* Load the boot module `module` and run its init, as the kernel (or the
 * console); NULL with err set on failure. The pointer holds no reference:
 * it stays valid until the domain is destroyed, which only the kernel and
 * the console may do to a domain the kernel created. */
struct domain *domain_create(const char *module, char *err, uint64_t errlen);
/* SYS_DOMAIN_CREATE: `creator` creates `module`, if the manifest lets its
 * image (domain/manifest.h). The new domain's handle, or -MAPLE_EPERM (logged,
 * naming both) or -MAPLE_EINVAL (err says why). */
long domain_create_by(struct domain *creator, const char *module, char *err, uint64_t errlen);
/* Set up domain support (boot CPU, after paging and the scheduler). */
void domain_init(void);
/* Fail the domain if it runs, claim it for this destroyer, wait (bounded)
 * until no call is inside it, then unmap and free everything of it and
 * release its key. No authority check: the kernel's and console's. Returns
 * 0, or with err set: -MAPLE_ESRCH (no such handle: already gone),
 * -MAPLE_EBUSY (another destroyer has it, or it is still being created),
 * -MAPLE_ETIMEDOUT (calls did not leave, or one of its PCI functions did not
 * stop: it stays failed with all its memory, destroy again). */
int domain_destroy(uint64_t handle, char *err, uint64_t errlen);
/* SYS_DOMAIN_DESTROY: only the domain's creator may (-MAPLE_EPERM, logged,
 * naming both); then as domain_destroy. */
int domain_destroy_by(struct domain *caller, uint64_t handle);
/* Mark d failed (if it runs) with a reason; every thread inside it unwinds
 * to its caller on its next way back to ring 3. */
void domain_fail(struct domain *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Call method `method` of d on this kernel thread (an upcall). Returns the
 * method's result, or -MAPLE_ECALLEE / -MAPLE_EDEAD / -MAPLE_ESRCH. */
long domain_call(struct domain *d, uint64_t method, long a0, long a1, long a2, long a3);

/* The domain with this id, or the one a decimal id or a name addresses,
 * with a reference the caller must domain_put; NULL if none. A name that
 * several domains have addresses the one creating or running, else none:
 * NULL with *why (if given) -MAPLE_ENOTUNIQ; -MAPLE_ESRCH for no such
 * domain. Safe from any thread. */
struct domain *domain_get(uint32_t id);
struct domain *domain_get_by_name(const char *name_or_id, long *why);
void domain_put(struct domain *d);
/* Without a reference: only for a thread whose call into the domain counts
 * in its `active` (destroy waits for those), e.g. the domain's own syscalls. */
struct domain *domain_by_id(uint32_t id);
/* Whether to log one more of d's refused requests: the first
 * DOMAIN_REFUSALS_LOGGED, then one line saying the rest are not, so that a
 * domain cannot flood the log by asking again and again. */
#define DOMAIN_REFUSALS_LOGGED 8
bool domain_log_refusal(struct domain *d);
/* SYS_LOG's share of the one kernel log (a serial line, written under a
 * lock): a burst of DOMAIN_LOG_BURST lines, then DOMAIN_LOG_PER_S a
 * second; lines past that are dropped, counted, and reported in one line. */
#define DOMAIN_LOG_BURST 64
#define DOMAIN_LOG_PER_S 32
/* The state of the domain a handle names; DOMAIN_GONE once the handle
 * names nothing (destroyed, or a later domain in the same slot). */
enum domain_state domain_state_of(uint64_t handle);
/* Calls fn for each live domain (under the domain-list lock: keep it short). */
void domain_foreach(void (*fn)(struct domain *d, void *arg), void *arg);
/* The user address of a link-time address in d's image. */
static inline uint64_t domain_runtime_addr(const struct domain *d, uint64_t link_addr)
{
	return link_addr + d->load_bias;
}
/* "name+0x12" for an address in d's image, from its ELF symbol table. */
void domain_symbolize(const struct domain *d, uint64_t addr, char *buf, uint64_t len);

/* Limits (domain/domain_limits.c). */
/* Fill d->limits with the defaults; domain_create calls it first thing. */
void domain_limits_init(struct domain *d);
/* Count one more thread of d: 0, or -MAPLE_EAGAIN at d's thread limit. */
int domain_thread_charge(struct domain *d);
/* One thread of domain (id, gen) is gone; a no-op once that domain is. */
void domain_thread_uncharge(uint32_t id, uint32_t gen);
/* Threads of d alive now that count against its limit. */
uint32_t domain_threads(const struct domain *d);

/*
 * Memory (domain/domain_mem.c). Each mapping function returns the mapped VA,
 * or a negative -MAPLE_E* code: -MAPLE_EQUOTA when d's memory limit would
 * be passed, -MAPLE_ENOMEM when the machine has no frame left beyond the
 * kernel reserve, -MAPLE_EINVAL for a bad size. A failed map leaves
 * nothing mapped and nothing charged.
 */
long dmem_heap_grow(struct domain *d, uint64_t bytes);
/* SYS_DMA_ALLOC: physically contiguous, zeroed, page-aligned memory in the
 * heap window, charged to d and freed with it; at most DMEM_DMA_MAX bytes
 * (-MAPLE_EINVAL beyond, or for 0). */
#define DMEM_DMA_MAX (4UL << 20)
long dmem_dma_alloc(struct domain *d, uint64_t bytes);
/* SYS_DMA_BUS: the bus address of byte va of d's DMA memory, or
 * -MAPLE_EFAULT if va is not in it. */
long dmem_dma_bus(struct domain *d, uint64_t va);
/* Map device registers (pages from pa, not RAM) uncached in the heap
 * window: a device region, never freed, its tables charged. */
long dmem_map_mmio(struct domain *d, uint64_t pa, uint64_t pages);
/* Map a device's memory, 2 MiB chunks (va aligned): never freed with d,
 * nor charged to it (its tables are). Returns va, or 0. */
uint64_t dmem_map_device(struct domain *d, uint64_t va, const uint64_t *chunks, uint64_t nchunks,
			 uint64_t pte_flags);
/* Map the image's frames (contiguous from pa) at d->base, each page with
 * rights(i, arg); the frames stay the caller's to free on failure. */
long dmem_map_image(struct domain *d, uint64_t pa, uint64_t pages,
		    uint64_t (*rights)(uint64_t i, const void *arg), const void *arg);
/* A stack for the thread in gate slot thread_slot in d: its top, or
 * -MAPLE_EQUOTA (d's memory limit), -MAPLE_ENOMEM (the machine's), or
 * -MAPLE_EDEAD (d is being destroyed: it maps nothing more). */
long dmem_stack_alloc(struct domain *d, int32_t thread_slot);
/* Free every region of d (thread_slot < 0) or only that thread's stack. */
void dmem_free(struct domain *d, int32_t thread_slot, bool all);
/* Unmap user pages and free emptied page tables, and the pages' frames
 * unless they belong to a device. Returns how many tables were freed. */
uint64_t unmap_region(uint64_t va, uint64_t pages, bool free_pages);
/* Whether [va, va+len) lies in user memory d may touch (its regions or SHARED). */
bool dmem_owns(struct domain *d, uint64_t va, uint64_t len);

#define DOMAIN_IMAGE_MAX  (256UL << 20)
#define DOMAIN_HEAP_OFF	  DOMAIN_IMAGE_MAX
#define DOMAIN_HEAP_MAX	  (512UL << 20)
#define DOMAIN_STACK_OFF  (DOMAIN_HEAP_OFF + DOMAIN_HEAP_MAX)
#define DOMAIN_STACK_SIZE (64UL << 10)
#define DOMAIN_STACK_SLOT (128UL << 10) /* the lower half is guard */
/* SYS_HEAP_GROW's smallest region (a domain's malloc grows by 64 KiB). */
#define DOMAIN_HEAP_REGION_MIN (64UL << 10)
/* Where a granted software device (ramdisk0) is mapped: after the stacks. */
#define DOMAIN_DEVICE_OFF (DOMAIN_STACK_OFF + 128UL * 1024 * 1024)

#endif
