/*
 * Devices the kernel grants to driver domains (docs/drivers.md "Device
 * grants"): software devices that driver domains map, like a BAR, whose
 * memory is the medium, not driver state, so it outlives the driver
 * (`ramdisk0` backs the membdev driver; size: `ramdisk_mb=`, default 8); and
 * the PCI functions dev/pci.c found, named by class (`nvme0`).
 */
#ifndef CORE_DEVICE_H
#define CORE_DEVICE_H

#include <dev/grant.h>
#include <maple/abi.h>
#include <maple/pci_abi.h>
#include <stdbool.h>
#include <stdint.h>

struct domain;

/* ramdisk0's size without `ramdisk_mb=` (the VM's boot option), and
 * maple-hosted's (hosted/device.c): a whole number of 2 MiB chunks. */
#define RAMDISK_DEFAULT_MB 8

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
/*
 * PCI functions, for their holder only (syscalls 24-29, maple/abi.h); each
 * returns -MAPLE_ESRCH for no such function and -MAPLE_EPERM (logged,
 * naming both) unless d runs and holds it.
 * device_bar: map memory BAR `bar` uncached into d under its key; its
 * address, or -MAPLE_EINVAL (not a whole-page memory BAR that sized).
 * device_busmaster: Bus Master Enable on (1) or off (0); -MAPLE_EINVAL else.
 * device_bar_size and device_info: facts anyone may read (no addresses).
 */
long device_bar(struct domain *d, const char *name, uint64_t bar);
long device_bar_size(const char *name, uint64_t bar);
long device_busmaster(struct domain *d, const char *name, uint64_t on);
long device_info(const char *name, struct maple_pci_info *out);
/* SYS_DEVICE_CONFIG: the config-space word at off, for its holder only
 * (-MAPLE_EPERM, logged); -MAPLE_EINVAL unless off is aligned and < 4096. */
long device_config(struct domain *d, const char *name, uint64_t off);
/* d has just failed: stop its PCI functions' DMA (dev/pci.h pci_stop).
 * Any context; no waiting. */
void device_stop(struct domain *d);
/* d is about to be torn down: confirm its PCI functions stopped, then end
 * its grants; each device stays kept for the next instance d's creator
 * makes. false, with err set and every grant left as it was, when a
 * function does not stop: nothing of d may be freed then. */
bool device_release(struct domain *d, char *err, uint64_t errlen);
/* One line per device, its grant (for the console), outside any domain lock. */
void device_foreach(void (*fn)(const char *line, void *arg), void *arg);

#endif
