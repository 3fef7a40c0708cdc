/*
 * Software devices that driver domains map, like a BAR: their memory is the
 * medium, not driver state, so it outlives the driver. `ramdisk0` backs the
 * membdev driver (size: `ramdisk_mb=`, default 8).
 */
#ifndef CORE_DEVICE_H
#define CORE_DEVICE_H

#include <stdint.h>

struct domain;

/* d is being created: grant it the devices the manifest names for its
 * image, each unless another domain has the better claim (logged). */
void device_grant(struct domain *d);
/* Map device `name` into d, which must hold its grant; its address, or
 * -MAPLE_EPERM (logged, naming both), -MAPLE_ESRCH, -MAPLE_ENOMEM. */
long device_map(struct domain *d, const char *name);
/* Its size in bytes, or -MAPLE_ESRCH. */
long device_size(const char *name);
/* The kernel's own view (direct map) of the 8-byte word at byte offset off
 * of device `name`, its memory made on first use: NULL if there is no such
 * device, off is outside it or unaligned, or memory ran out. For tests that
 * share a word the test driver image reserves (drivers/block/membdev/initfail.h). */
uint64_t *device_word(const char *name, uint64_t off);
/* d is going away: its grants end (and the devices reset); each stays kept
 * for the next instance d's creator makes. */
void device_release(struct domain *d);
/* One line per device, its grant (for the console), outside any domain lock. */
void device_foreach(void (*fn)(const char *line, void *arg), void *arg);

#endif
