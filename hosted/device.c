/*
 * "ramdisk0" in maple-hosted (device.h): the VM's software RAM disk
 * (kernel/dev/device.c) as an anonymous memory file of the VM's default
 * size, made on the first map and kept for the process, so a driver that a
 * shadow re-creates after a crash finds every block its predecessor wrote.
 *
 * THE INVARIANT is the VM's, decided by the same code (kernel/dev/grant.c):
 * at most one running domain holds the device, granted by the manifest at
 * creation; a holder that failed or is gone is succeeded only by an
 * instance its own creator makes, so no other domain can slip in between a
 * driver's crash and its shadow's restart. Only the holder maps it
 * (-MAPLE_EPERM for anyone else, logged by grant_refuse), at its slot's
 * device offset under its key.
 */
#define _GNU_SOURCE
#include "device.h"

#include "domains.h"
#include "gate.h"

#include <core/log.h>
#include <dev/device.h>
#include <dev/grant.h>
#include <domain/gate_layout.h>
#include <domain/manifest.h>
#include <domain/slot_layout.h>
#include <maple/abi.h>

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The VM's size without `ramdisk_mb=` (dev/device.h). */
#define RAMDISK_BYTES ((uint64_t)RAMDISK_DEFAULT_MB << 20)

static struct ramdisk {
	const char *name;
	int fd;		/* the memory file; -1 until first mapped */
	uint64_t *view; /* the runtime's own mapping of it */
	struct device_grant grant;
} ramdisk = {.name = "ramdisk0", .fd = -1};

static struct ramdisk *find(const char *name)
{
	return !strcmp(name, ramdisk.name) ? &ramdisk : NULL;
}

/* The state grant_refusal needs of the domain a handle names: running, or
 * failed (its gate entry says so until destroy removes it), or gone. */
static enum domain_state state_of(uint64_t handle)
{
	struct hosted_domain *d = handle ? hgate_domain(handle) : NULL;
	if (!d)
		return DOMAIN_GONE;
	return hgate_state(d) == GATE_DOMAIN_RUNNING ? DOMAIN_RUNNING : DOMAIN_FAILING;
}

void hdev_grant(struct hosted_domain *d)
{
	const struct authority_domain who = hdom_authority(d);
	const char *const *names = manifest_devices(d->name);
	for (int i = 0; names && i < MANIFEST_MAX && names[i]; i++) {
		struct ramdisk *dev = find(names[i]);
		if (!dev)
			continue; /* a PCI function: none exists hosted */
		char held_by[96];
		const char *why =
			grant_decide(&dev->grant, &who, NULL, state_of(dev->grant.holder),
				     state_of(dev->grant.lineage), held_by, sizeof held_by);
		grant_log(names[i], &who, why, held_by);
	}
}

/* The memory, made once (as the VM's populate): 0, or -1. */
static int populate(struct ramdisk *dev)
{
	if (dev->fd >= 0)
		return 0;
	int fd = memfd_create(dev->name, MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	void *view = MAP_FAILED;
	if (ftruncate(fd, RAMDISK_BYTES) == 0)
		view = mmap(NULL, RAMDISK_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (view == MAP_FAILED) {
		close(fd);
		return -1;
	}
	dev->fd = fd;
	dev->view = view;
	return 0;
}

long hdev_map(struct hosted_domain *d, const char *name)
{
	struct ramdisk *dev = find(name);
	if (!dev)
		return -MAPLE_ESRCH;
	if (dev->grant.holder != hgate_handle(d)) {
		char holder[96];
		grant_describe_holder(&dev->grant, holder, sizeof holder);
		const struct authority_domain who = hdom_authority(d);
		return grant_refuse(&who, "map", dev->name, holder);
	}
	if (d->device_va)
		return (long)d->device_va;
	if (populate(dev) < 0)
		return -MAPLE_ENOMEM;
	uint64_t va = d->base + DOMAIN_DEVICE_OFF;
	void *at = mmap((void *)va, RAMDISK_BYTES, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_FIXED_NOREPLACE, dev->fd, 0);
	if (at != (void *)va) {
		if (at != MAP_FAILED)
			munmap(at, RAMDISK_BYTES);
		return -MAPLE_ENOMEM;
	}
	if (hgate_keys() && pkey_mprotect(at, RAMDISK_BYTES, PROT_READ | PROT_WRITE, d->pkey) < 0) {
		munmap(at, RAMDISK_BYTES);
		return -MAPLE_ENOMEM;
	}
	d->device_va = va;
	d->device_bytes = RAMDISK_BYTES;
	klog("device: %s mapped by %s", dev->name, d->name);
	return (long)va;
}

long hdev_size(const char *name)
{
	return find(name) ? (long)RAMDISK_BYTES : -MAPLE_ESRCH;
}

void hdev_release(struct hosted_domain *d)
{
	/* Held by nobody now, kept for the holder's creator (the lineage), as
	 * the VM's device_release leaves a RAM disk. */
	grant_end(&ramdisk.grant, hgate_handle(d));
	if (d->device_va)
		munmap((void *)d->device_va, d->device_bytes);
	d->device_va = d->device_bytes = 0;
}

uint64_t *hdev_word(const char *name, uint64_t off)
{
	struct ramdisk *dev = find(name);
	if (!dev || off % sizeof(uint64_t) || off >= RAMDISK_BYTES || populate(dev) < 0)
		return NULL;
	return dev->view + off / sizeof(uint64_t);
}
