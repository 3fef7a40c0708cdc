/*
 * The hosted platform's domain loader: the VM's checks (kernel/lib/elf_check.c,
 * including the scan for WRPKRU, XRSTOR and the other forbidden
 * instructions) and placement (elf_reloc.c) over an image file, mapped into
 * this process at the VM's slot address for the domain's id.
 */
#ifndef HOSTED_LOADER_H
#define HOSTED_LOADER_H

#include <domain/lifecycle.h>
#include <domain/log_share.h>
#include <stddef.h>
#include <stdint.h>

struct hosted_domain {
	char name[32];	      /* MAPLE_DOMAIN_NAME_MAX: the file name without ".elf" */
	unsigned id;	      /* slot: base = MAPLE_DOMAIN_BASE + id * MAPLE_DOMAIN_SLOT */
	uint64_t base;	      /* where the image's span_lo runs */
	uint64_t span;	      /* bytes mapped */
	uint64_t entry;	      /* run-time entry address */
	int pkey;	      /* its protection key, or -1 where there are none */
	unsigned nmethods;    /* how many it gave SYS_EXPORT */
	uint64_t methods[32]; /* their addresses (GATE_MAX_METHODS) */
	/* Set by the loader, the gate (gate.c) and the lifecycle (domains.c): */
	uint32_t gen;		    /* the slot's generation: handle = id | gen << 16 */
	uint64_t creator;	    /* its creator's handle; 0: the runtime ("kernel") */
	char creator_name[32];	    /* its creator's name, for the log */
	uint64_t heap_next;	    /* the next free address of its heap window */
	uint64_t pages;		    /* pages charged: image, stack, heap (domains.c) */
	uint64_t device_va;	    /* where its granted device is mapped; 0: nowhere */
	uint64_t device_bytes;	    /* and how many bytes */
	uint64_t refusals;	    /* requests refused (the VM logs the first few) */
	struct log_share log_share; /* SYS_LOG's share (syscalls.c) */
	char fail_reason[128];	    /* why it failed (a kill, a destroy, its init's fault) */
	int fail_errno;		    /* MAPLE_ETIMEDOUT: the watchdog failed it; else 0 */
	int owned;		    /* allocated by domains.c, which frees it at destroy */
	int creating, destroying;   /* claimed by a create or a destroy (domains.c) */
	unsigned refs;		    /* the table's and each lookup's (domains.c) */
	int gone;		    /* out of the table: freed with the last reference */
	uint32_t threads_max;	    /* its thread limit; 0: DOMAIN_THREADS_DEFAULT */
};

/* A whole file, malloc'd (at most 256 MiB), or NULL with err filled. */
uint8_t *hosted_read(const char *path, size_t *size, char *err, size_t errlen);

/* The image file at `path` for the lifecycle (its bytes malloc'd: free them),
 * its file name the path's last part; 0, or -1 with err. */
int hosted_read_image(const char *path, struct lifecycle_image *img, char *err, size_t errlen);

/* The writable room for an image of `span` bytes at its slot's base, fixed
 * there and nowhere else; NULL with err "FILE: cannot map its slot at ...". */
uint8_t *hosted_image_room(const char *file, uint64_t base, uint64_t span, char *err,
			   size_t errlen);

/* Each page of the image at `at` with its segment's rights (elf_page_flags:
 * never writable and executable) under pkey (-1: none); 0, or -1 with err. */
int hosted_image_protect(const struct elf_info *info, uint8_t *at, int pkey, char *err,
			 size_t errlen);

/* d's span, entry, heap window and charged pages once its image is placed
 * at d->base. */
void hosted_image_placed(struct hosted_domain *d, const struct elf_info *info);

/*
 * Load `path` as domain `id`, with a key from pkeys_domain() if use_keys.
 * Returns 0, or -1 with err holding the VM loader's message for the same
 * refusal ("hello.elf: <elf_check's reason>") or the host's I/O error.
 */
int hosted_load(const char *path, unsigned id, int use_keys, struct hosted_domain *out, char *err,
		size_t errlen);

/* Mappings in d's slot other than its image (what a leak would leave), from
 * /proc/self/maps; -1 if that cannot be read. */
int hosted_slot_extra(const struct hosted_domain *d);

#endif
