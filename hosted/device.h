/*
 * The hosted platform's one device (device.c): "ramdisk0", the software
 * RAM disk of the VM's kernel/dev/device.c, memory that outlives the
 * domain holding it, granted as the VM grants it (the manifest, one
 * running holder, a failed holder succeeded only by what its creator
 * makes). There are no PCI functions hosted.
 */
#ifndef HOSTED_DEVICE_H
#define HOSTED_DEVICE_H

#include "loader.h"

#include <stdint.h>

/* Grant d the devices the manifest names for its image, where the VM's
 * rules allow, logging the VM's line either way. */
void hdev_grant(struct hosted_domain *d);

/* SYS_DEVICE_MAP: the address of `name` mapped into d, under d's key;
 * -MAPLE_ESRCH (no such device), -MAPLE_EPERM (not d's: logged) or
 * -MAPLE_ENOMEM. */
long hdev_map(struct hosted_domain *d, const char *name);

/* SYS_DEVICE_SIZE: its size in bytes, or -MAPLE_ESRCH. */
long hdev_size(const char *name);

/* d goes: unmap its device (the memory stays the device's) and hold it
 * for nobody, kept for d's creator. */
void hdev_release(struct hosted_domain *d);

/* The runtime's view of word `off` of device `name` (tests set the
 * membdev_initfail schedule there, as the VM's device_word), or NULL. */
uint64_t *hdev_word(const char *name, uint64_t off);

#endif
