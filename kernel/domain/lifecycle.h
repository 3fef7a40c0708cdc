/*
 * The domain lifecycle's one sequence, for both platforms (lifecycle.c):
 * create (find the image, check it, take a slot and key, map it, grant
 * its devices, publish it, run its init) and destroy (look the handle up,
 * fail, claim, wait for calls to leave, release devices, tear down), with
 * the unwinding at each failure point and the lines it logs.
 *
 * What a platform provides is `struct lifecycle_platform`: the mechanism
 * under each step (frames and page tables, or mmap and pkey_mprotect; a
 * kernel thread or an upcall for the init; a bounded sleep or nothing to
 * wait for calls). The VM's implements it in domain/domain.c, maple-hosted's
 * in hosted/domains.c; the host unit test (kernel/test/test_lifecycle.c)
 * over a fake one. Portable: fmt, elf, handle, klog (through
 * lifecycle_lines.c) only.
 */
#ifndef DOMAIN_LIFECYCLE_H
#define DOMAIN_LIFECYCLE_H

#include <lib/elf.h>
#include <maple/abi.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An image being created from: the platform fills bytes, size and file
 * (image_find); the sequence checks it into info. */
struct lifecycle_image {
	const uint8_t *bytes;
	uint64_t size;
	char file[64]; /* its file name, for messages: "membdev.elf" */
	struct elf_info info;
};

/* One domain as the sequence sees it: the platform's record and what the
 * lines and handles need of it. */
struct lifecycle_dom {
	void *d; /* the platform's record (struct domain, struct hosted_domain) */
	char name[MAPLE_DOMAIN_NAME_MAX];
	uint32_t id, gen;
	int key; /* -1: none (maple-hosted without PKU) */
	uint64_t base;
	uint64_t mem_pages; /* its memory limit (pages): the image must fit */
};

/* What a new domain is, for domain_new: the platform copies it. */
struct lifecycle_new {
	const char *name; /* the image's file name without ".elf" */
	uint64_t creator; /* its creator's handle; 0: the kernel (the runtime) */
	const char *creator_name;
	const struct lifecycle_image *image;
};

/* How a new domain's init ended (run_init). */
enum lifecycle_init {
	LIFECYCLE_INIT_RAN,	  /* it returned *r, still running */
	LIFECYCLE_INIT_FAILED,	  /* it failed meanwhile, for *why */
	LIFECYCLE_INIT_DESTROYED, /* a destroyer took it meanwhile */
};

/*
 * A platform's mechanism. Every operation gets the record domain_new made
 * (or get found). Those marked optional may be NULL: nothing to do there.
 */
struct lifecycle_platform {
	/* Optional: whether domains can run here at all; else false with err. */
	bool (*ready)(char *err, size_t errlen);
	/* The image named `what` (a boot module's name, or a path where the
	 * platform takes one): 0, or -1 with err (lifecycle_no_module's). */
	int (*image_find)(const void *ctx, const char *what, struct lifecycle_image *img, char *err,
			  size_t errlen);
	/* Optional: the image's bytes are no longer needed (create ended). */
	void (*image_put)(struct lifecycle_image *img);
	/* A record for n with its memory limit in v->mem_pages, not yet in any
	 * table; NULL with err. */
	void *(*domain_new)(const struct lifecycle_new *n, struct lifecycle_dom *v, char *err,
			    size_t errlen);
	/* Free a record that never took a slot. */
	void (*domain_free)(void *d);
	/* Take a free slot (id, the slot's next generation, base) and a
	 * protection key for d, in the table as being created: 0, or -1 with
	 * err (lifecycle_no_slot's, lifecycle_no_key's) and nothing taken. */
	int (*slot_take)(void *d, struct lifecycle_dom *v, char *err, size_t errlen);
	/* Give back what slot_take took, for a domain that never ran, and free
	 * the record (as create's and the table's last references). */
	void (*slot_release)(void *d);
	/* Writable room for the image's span, for the sequence to copy and
	 * relocate into for run-time address v->base; NULL with err. */
	uint8_t *(*image_room)(void *d, const struct lifecycle_dom *v,
			       const struct lifecycle_image *img, char *err, size_t errlen);
	/* Map the room at v->base, each page with its segment's rights and
	 * v->key, with whatever else a domain needs to be entered (a stack):
	 * 0, or -1 with err, the room freed and nothing left mapped. */
	int (*image_map)(void *d, const struct lifecycle_dom *v, const struct lifecycle_image *img,
			 uint8_t *room, char *err, size_t errlen);
	/* Free the room of an image that was never mapped. */
	void (*image_room_free)(void *d, const struct lifecycle_image *img, uint8_t *room);
	/* The manifest's device grants (dev/grant.c) for the new domain. */
	void (*grant)(void *d);
	/* Optional: running, in the gate's table, callable from here on. */
	void (*publish)(void *d);
	/* Run the init at `entry` on a thread or as an upcall. */
	enum lifecycle_init (*run_init)(void *d, uint64_t entry, long *r, const char **why);
	/* How many methods it exported. */
	uint64_t (*methods)(void *d);
	/* Optional: it is created (the VM's observers). */
	void (*created)(void *d);

	/* The domain in slot `id` with a reference (put gives it back), its
	 * view in v; NULL if the slot is empty. */
	void *(*get)(uint32_t id, struct lifecycle_dom *v);
	/* Optional: give get's (or create's) reference back. */
	void (*put)(void *d);
	/* Fail d if it runs, for `why` (the failed line: lifecycle_log_failed). */
	void (*fail)(void *d, const char *why);
	/* Optional: d (failed) becomes this destroyer's alone: 0, or a negative
	 * -MAPLE_E* with err (another destroyer has it, still being created). */
	int (*claim)(void *d, char *err, size_t errlen);
	/* Wait, as long as the platform can, for calls into d to leave: how
	 * many are still in progress, and how long it waited (ms). */
	uint64_t (*drain)(void *d, uint64_t *waited_ms);
	/* d keeps its memory, failed, for a later destroy (calls remain or a
	 * device did not stop); no domain but a holder may reach a device. */
	void (*stays_failed)(void *d);
	/* Take d's devices back before its memory goes: true, or false with
	 * err (a device did not stop). */
	bool (*release_devices)(void *d, char *err, size_t errlen);
	/* Unmap and free everything of d, release its key and slot: the pages
	 * it had mapped, and the RRefs reclaimed. */
	void (*teardown)(void *d, uint64_t *pages, uint64_t *rrefs);
};

/*
 * Create the image `what` for `creator` (a handle, 0: the kernel; named
 * creator_name). The new domain's handle with *out its record (holding
 * create's reference where the platform counts them); 0 with err the
 * reason, everything taken given back.
 */
uint64_t lifecycle_create(const struct lifecycle_platform *p, const void *ctx, const char *what,
			  uint64_t creator, const char *creator_name, void **out, char *err,
			  size_t errlen);

/*
 * Destroy the domain `handle` names, with no authority check (the kernel's,
 * the console's; authority_destroy_by checks a domain's). 0, or with err:
 * -MAPLE_ESRCH (no domain by that handle: gone, or a later domain in the
 * slot), the claim's error, -MAPLE_ETIMEDOUT (calls did not leave, or a
 * device did not stop: it stays failed with its memory, destroy again).
 */
int lifecycle_destroy(const struct lifecycle_platform *p, uint64_t handle, char *err,
		      size_t errlen);

/* The image checks, before anything is mapped: elf_check as a domain,
 * then the slot's span limit. 0, or -1 with err "FILE: reason". */
int lifecycle_image_check(struct lifecycle_image *img, char *err, size_t errlen);

/* A domain's name: its image's file name without ".elf". */
void lifecycle_image_name(const char *file, char *name, size_t len);

/* Copy the checked image into room (zeroed first) and relocate it for
 * run-time address base: 0, or -1 with err "FILE: reason". */
int lifecycle_image_place(const struct lifecycle_image *img, uint8_t *room, uint64_t base,
			  char *err, size_t errlen);

#endif
