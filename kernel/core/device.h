/*
 * Software devices that driver domains map, like a BAR: their memory is the
 * medium, not driver state, so it outlives the driver. `ramdisk0` backs the
 * membdev driver (size: `ramdisk_mb=`, default 8).
 */
#ifndef CORE_DEVICE_H
#define CORE_DEVICE_H

#include <stdint.h>

struct domain;

/* Map device `name` into d (one holder at a time); its address, or -MAPLE_E*. */
long device_map(struct domain *d, const char *name);
/* Its size in bytes, or -MAPLE_ESRCH. */
long device_size(const char *name);
/* d is going away: its devices are free for the next driver (and reset). */
void device_release(struct domain *d);

#endif
