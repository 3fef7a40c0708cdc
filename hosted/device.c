/*
 * "ramdisk0" in maple-hosted (device.h): the VM's software RAM disk
 * (kernel/dev/device.c) as an anonymous memory file of the VM's default
 * size, made on the first map and kept for the process, so a driver that a
 * shadow re-creates after a crash finds every block its predecessor wrote.
 *
 * THE INVARIANT, the VM's (device.c, grant_refusal): at most one running
 * domain holds the device, granted by the manifest at creation; a holder
 * that failed or is gone is succeeded only by an instance its own creator
 * makes, so no other domain can slip in between a driver's crash and its
 * shadow's restart. Only the holder maps it (-MAPLE_EPERM for anyone
 * else, logged as in the VM), at its slot's device offset under its key.
 */
#define _GNU_SOURCE
#include "device.h"

#include "domains.h"
#include "gate.h"

#include <core/log.h>
#include <domain/domain.h>
#include <domain/manifest.h>
#include <maple/abi.h>

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* kernel/dev/device.c's RAMDISK_DEFAULT_MB, the VM's size without
 * `ramdisk_mb=`: 8 MiB, already a whole number of its 2 MiB chunks. */
#define RAMDISK_BYTES (8ul << 20)

enum { GONE, RUNNING, FAILED };

static struct ramdisk {
	const char *name;
	int fd;		  /* the memory file; -1 until first mapped */
	uint64_t *view;	  /* the runtime's own mapping of it */
	uint64_t holder;  /* handle of the domain granted it; 0: nobody */
	uint64_t lineage; /* the holder's creator, who may replace it */
	char holder_name[MAPLE_DOMAIN_NAME_MAX];
	char lineage_name[MAPLE_DOMAIN_NAME_MAX];
} ramdisk = {.name = "ramdisk0", .fd = -1};

static struct ramdisk *find(const char *name)
{
	return !strcmp(name, ramdisk.name) ? &ramdisk : NULL;
}

static int state_of(uint64_t handle)
{
	struct hosted_domain *d = handle ? hgate_domain(handle) : NULL;
	if (!d)
		return GONE;
	return hgate_state(d) == GATE_DOMAIN_RUNNING ? RUNNING : FAILED;
}

static void describe_holder(const struct ramdisk *dev, char *buf, size_t len)
{
	if (dev->holder)
		snprintf(buf, len, "%s (id %lu)", dev->holder_name,
			 (unsigned long)(dev->holder & HANDLE_ID_MASK));
	else if (dev->lineage)
		snprintf(buf, len, "nobody: it is kept for the next instance %s (id %lu) creates",
			 dev->lineage_name, (unsigned long)(dev->lineage & HANDLE_ID_MASK));
	else
		snprintf(buf, len, "nobody");
}

/* Why d may not be granted dev, or NULL (the VM's grant_refusal). */
static const char *refusal(const struct ramdisk *dev, const struct hosted_domain *d)
{
	int holder = state_of(dev->holder), lineage = state_of(dev->lineage);
	if (holder == RUNNING)
		return "its holder runs";
	if (dev->lineage == d->creator)
		return NULL; /* the holder's creator replaces it */
	if (holder != GONE)
		return "its failed holder is for its own creator to replace";
	if (dev->lineage && lineage != GONE)
		return "it is kept for its last holder's creator";
	return NULL;
}

void hdev_grant(struct hosted_domain *d)
{
	const char *const *names = manifest_devices(d->name);
	for (int i = 0; names && i < MANIFEST_MAX && names[i]; i++) {
		struct ramdisk *dev = find(names[i]);
		if (!dev)
			continue; /* a PCI function: none exists hosted */
		char held_by[96];
		const char *why = refusal(dev, d);
		describe_holder(dev, held_by, sizeof held_by);
		if (why) {
			klog("device: %s not granted to %s (id %u): %s (granted to %s)", names[i],
			     d->name, d->id, why, held_by);
			continue;
		}
		dev->holder = hgate_handle(d);
		dev->lineage = d->creator;
		snprintf(dev->holder_name, sizeof dev->holder_name, "%s", d->name);
		snprintf(dev->lineage_name, sizeof dev->lineage_name, "%s", d->creator_name);
		klog("device: %s granted to %s (id %u), created by %s", names[i], d->name, d->id,
		     d->creator_name);
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
	if (dev->holder != hgate_handle(d)) {
		char holder[96];
		describe_holder(dev, holder, sizeof holder);
		if (hdom_log_refusal(d))
			klog("device: %s (id %u) may not map %s: it is granted to %s", d->name,
			     d->id, dev->name, holder);
		return -MAPLE_EPERM;
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
	if (ramdisk.holder == hgate_handle(d))
		ramdisk.holder = 0;
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
