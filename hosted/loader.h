/*
 * The hosted platform's domain loader: the VM's checks (kernel/lib/elf_check.c,
 * including the scan for WRPKRU, XRSTOR and the other forbidden
 * instructions) and placement (elf_reloc.c) over an image file, mapped into
 * this process at the VM's slot address for the domain's id.
 */
#ifndef HOSTED_LOADER_H
#define HOSTED_LOADER_H

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
	uint64_t stack;	      /* its upcall stack (entry.c), 0 while it has none */
};

/* A whole file, malloc'd (at most 256 MiB), or NULL with err filled. */
uint8_t *hosted_read(const char *path, size_t *size, char *err, size_t errlen);

/*
 * Load `path` as domain `id`, with a key from pkeys_domain() if use_keys.
 * Returns 0, or -1 with err holding the VM loader's message for the same
 * refusal ("hello.elf: <elf_check's reason>") or the host's I/O error.
 */
int hosted_load(const char *path, unsigned id, int use_keys, struct hosted_domain *out, char *err,
		size_t errlen);

/* Unmap d's image and give its key back, so a later load may take both:
 * only after hgate_remove(d), when nothing can run in d any more. */
void hosted_unload(struct hosted_domain *d);

/* Mappings in d's slot other than its image (what a leak would leave), from
 * /proc/self/maps; -1 if that cannot be read. */
int hosted_slot_extra(const struct hosted_domain *d);

#endif
