/*
 * Isolation domains (DESIGN.md §4): separately loaded PIE images running in
 * ring 3 in the one address space, each with its own protection key.
 * Lifecycle: create (load, map, run its init) -> running -> failed ->
 * destroyed, and created again from the same image.
 */
#ifndef CORE_DOMAIN_H
#define CORE_DOMAIN_H

#include <core/gate_layout.h>
#include <core/rref.h>
#include <maple/elf.h>
#include <maple/spinlock.h>
#include <stdbool.h>
#include <stdint.h>

enum domain_state {
	DOMAIN_FREE = 0,
	DOMAIN_RUNNING,
	DOMAIN_FAILED,
};

/* One mapped range of a domain's memory; every frame in it is the domain's. */
struct domain_region {
	uint64_t va;
	uint64_t pages;
	int32_t thread_slot; /* a thread's stack: that thread's gate slot; else -1 */
	bool device;	     /* a device's memory: unmapped, never freed, with the domain */
	struct domain_region *next;
};

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
	int fail_errno; /* what unwound callers get: ECALLEE or ETIMEDOUT */
	int inject;	/* enum inject_fault, taken by the next thread inside */
	char fail_reason[128];
	struct rref_limits rref_limits; /* set at creation (defaults for now) */
	struct spinlock lock;
};

static inline uint64_t domain_handle(const struct domain *d)
{
	return d->id | ((uint64_t)d->gen << HANDLE_GEN_SHIFT);
}

/* Load the boot module `module` and run its init; NULL with err set on failure. */
struct domain *domain_create(const char *module, char *err, uint64_t errlen);
/* Set up domain support (boot CPU, after paging and the scheduler). */
void domain_init(void);
/* Whether domains may start here (PKU present, or isolation=off given). */
bool domain_isolation_ready(void);
/* Fail the domain if it runs, wait (bounded) until no call is inside it,
 * then unmap and free everything of it and release its key. Takes a handle
 * so that a second destroy is refused cleanly. Returns 0, or -1 with err. */
int domain_destroy(uint64_t handle, char *err, uint64_t errlen);
/* Mark d failed (if it runs) with a reason; every thread inside it unwinds
 * to its caller on its next way back to ring 3. */
void domain_fail(struct domain *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Call method `method` of d on this kernel thread (an upcall). Returns the
 * method's result, or -MAPLE_ECALLEE / -MAPLE_EDEAD / -MAPLE_ESRCH. */
long domain_call(struct domain *d, uint64_t method, long a0, long a1, long a2, long a3);

/* By name or decimal id; NULL if none. */
struct domain *domain_find(const char *name_or_id);
struct domain *domain_by_id(uint32_t id);
/* Calls fn for each live domain (under the domain-list lock: keep it short). */
void domain_foreach(void (*fn)(struct domain *d, void *arg), void *arg);
/* The user address of a link-time address in d's image. */
static inline uint64_t domain_runtime_addr(const struct domain *d, uint64_t link_addr)
{
	return link_addr + d->load_bias;
}
/* "name+0x12" for an address in d's image, from its ELF symbol table. */
void domain_symbolize(const struct domain *d, uint64_t addr, char *buf, uint64_t len);

/* Memory (core/domain_mem.c). Each returns the mapped VA, or 0. */
uint64_t dmem_map_fresh(struct domain *d, uint64_t va, uint64_t pages, uint64_t pte_flags,
			int32_t thread_slot);
uint64_t dmem_heap_grow(struct domain *d, uint64_t bytes);
/* Map a device's memory, 2 MiB chunks (va aligned): never freed with d. */
uint64_t dmem_map_device(struct domain *d, uint64_t va, const uint64_t *chunks, uint64_t nchunks,
			 uint64_t pte_flags);
uint64_t dmem_stack_alloc(struct domain *d, int32_t thread_slot);
/* Free every region of d (thread_slot < 0) or only that thread's stack. */
void dmem_free(struct domain *d, int32_t thread_slot, bool all);
/* Unmap user pages and free emptied page tables, and the pages' frames
 * unless they belong to a device. */
void unmap_region(uint64_t va, uint64_t pages, bool free_pages);
/* Whether [va, va+len) lies in user memory d may touch (its regions or SHARED). */
bool dmem_owns(struct domain *d, uint64_t va, uint64_t len);

#define DOMAIN_IMAGE_MAX  (256UL << 20)
#define DOMAIN_HEAP_OFF	  DOMAIN_IMAGE_MAX
#define DOMAIN_HEAP_MAX	  (512UL << 20)
#define DOMAIN_STACK_OFF  (DOMAIN_HEAP_OFF + DOMAIN_HEAP_MAX)
#define DOMAIN_STACK_SIZE (64UL << 10)
#define DOMAIN_STACK_SLOT (128UL << 10) /* the lower half is guard */

#endif
