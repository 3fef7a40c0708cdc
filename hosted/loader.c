/*
 * loader: place a domain image in this process the way the VM's domain.c
 * does: elf_check(ELF_KIND_DOMAIN) over the whole file before anything is
 * mapped, the same span limit, a zeroed copy relocated for its slot, then
 * per-page rights from elf_page_flags and the domain's key on every page.
 *
 * Invariant (as in the VM): no byte of an image is executable unless
 * elf_check scanned it, because the copy is made from the checked file and
 * the span is zeroed first; the pages become executable only after the
 * copy, and never writable and executable at once.
 */
#define _GNU_SOURCE
#include "loader.h"

#include "pkeys.h"

#include <domain/lifecycle.h>
#include <domain/slot_layout.h>
#include <lib/elf.h>
#include <maple/abi.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HOSTED_IMAGE_MAX DOMAIN_IMAGE_MAX /* the VM's limit too */

uint8_t *hosted_read(const char *path, size_t *size, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	uint8_t *buf = NULL;
	long len = -1;
	if (fseek(f, 0, SEEK_END) == 0)
		len = ftell(f);
	if (len < 0 || fseek(f, 0, SEEK_SET) != 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
	} else if ((unsigned long)len > HOSTED_IMAGE_MAX) {
		snprintf(err, errlen, "%s: larger than %lu MiB", path, HOSTED_IMAGE_MAX >> 20);
	} else if (!(buf = malloc(len ? len : 1))) {
		snprintf(err, errlen, "%s: no memory for %ld bytes", path, len);
	} else if (fread(buf, 1, len, f) != (size_t)len) {
		snprintf(err, errlen, "%s: short read", path);
		free(buf);
		buf = NULL;
	} else {
		*size = len;
	}
	fclose(f);
	return buf;
}

static void module_name(const char *path, char *out, size_t outlen)
{
	const char *slash = strrchr(path, '/');
	snprintf(out, outlen, "%s", slash ? slash + 1 : path);
}

int hosted_read_image(const char *path, struct lifecycle_image *img, char *err, size_t errlen)
{
	size_t size;
	uint8_t *file = hosted_read(path, &size, err, errlen);
	if (!file)
		return -1;
	*img = (struct lifecycle_image){.bytes = file, .size = size};
	module_name(path, img->file, sizeof img->file);
	return 0;
}

uint8_t *hosted_image_room(const char *file, uint64_t base, uint64_t span, char *err, size_t errlen)
{
	uint8_t *at = mmap((void *)base, span, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (at == MAP_FAILED || (uint64_t)at != base) {
		snprintf(err, errlen, "%s: cannot map its slot at %#lx: %s", file,
			 (unsigned long)base,
			 at == MAP_FAILED ? strerror(errno) : "placed elsewhere");
		if (at != MAP_FAILED)
			munmap(at, span);
		return NULL;
	}
	return at;
}

int hosted_image_protect(const struct elf_info *info, uint8_t *at, int pkey, char *err,
			 size_t errlen)
{
	for (uint64_t off = 0; off < info->span_hi - info->span_lo; off += ELF_PAGE_SIZE) {
		uint32_t f = elf_page_flags(info, info->span_lo + off);
		int prot = PROT_READ | (f & PF_W ? PROT_WRITE : 0) | (f & PF_X ? PROT_EXEC : 0);
		int rc = pkey >= 0 ? pkey_mprotect(at + off, ELF_PAGE_SIZE, prot, pkey)
				   : mprotect(at + off, ELF_PAGE_SIZE, prot);
		if (rc < 0) {
			snprintf(err, errlen, "cannot set the rights of page %#lx: %s",
				 (unsigned long)off, strerror(errno));
			return -1;
		}
	}
	return 0;
}

void hosted_image_placed(struct hosted_domain *d, const struct elf_info *info)
{
	d->span = info->span_hi - info->span_lo;
	d->entry = d->base + (info->entry - info->span_lo);
	/* Its memory as the VM's charge counts it: the image and the stack
	 * (gate.c); the heap window starts empty (domains.c). */
	d->heap_next = d->base + DOMAIN_HEAP_OFF;
	d->pages = (d->span + DOMAIN_STACK_SIZE) / ELF_PAGE_SIZE;
}

int hosted_load(const char *path, unsigned id, int use_keys, struct hosted_domain *out, char *err,
		size_t errlen)
{
	struct lifecycle_image img;
	if (hosted_read_image(path, &img, err, errlen) < 0)
		return -1;
	int rc = -1, pkey = -1;
	uint8_t *at = NULL;
	uint64_t base = slot_base(id), span = 0;
	if (lifecycle_image_check(&img, err, errlen) < 0)
		goto out;
	span = img.info.span_hi - img.info.span_lo;
	if (!(at = hosted_image_room(img.file, base, span, err, errlen)) ||
	    lifecycle_image_place(&img, at, base, err, errlen) < 0)
		goto out;
	if (use_keys && (pkey = pkeys_domain(err, errlen)) < 0)
		goto out;
	if (hosted_image_protect(&img.info, at, pkey, err, errlen) < 0) {
		if (pkey >= 0)
			pkey_free(pkey);
		goto out;
	}
	*out = (struct hosted_domain){.id = id, .base = base, .pkey = pkey};
	lifecycle_image_name(img.file, out->name, sizeof out->name);
	hosted_image_placed(out, &img.info);
	rc = 0;
out:
	if (rc < 0 && at)
		munmap(at, span);
	free((void *)img.bytes);
	return rc;
}

int hosted_slot_extra(const struct hosted_domain *d)
{
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return -1;
	char line[512];
	int n = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && lo < d->base + MAPLE_DOMAIN_SLOT &&
		    hi > d->base && (lo < d->base || hi > d->base + d->span))
			n++;
	}
	fclose(f);
	return n;
}
