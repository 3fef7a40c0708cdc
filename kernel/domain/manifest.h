/*
 * The kernel's manifest (docs/isolation.md, "Authority"): which domain
 * images may create which, and which devices an image's instances are
 * granted. One table, compiled into the kernel, so nothing a domain
 * supplies can widen it. The kernel and the control console (the operator)
 * are not in it: they may create any image the kernel has.
 */
#ifndef CORE_MANIFEST_H
#define CORE_MANIFEST_H

#include <stdbool.h>

#define MANIFEST_MAX 8 /* images one image may create; devices one is granted */

struct manifest_entry {
	const char *image;
	const char *may_create[MANIFEST_MAX]; /* images its instances may create */
	const char *devices[MANIFEST_MAX];    /* devices granted to its instances */
};

/* Whether an instance of creator_image may create an instance of image. */
bool manifest_may_create(const char *creator_image, const char *image);
/* The devices granted to image's instances (NULL-padded), or NULL if none. */
const char *const *manifest_devices(const char *image);

#endif
