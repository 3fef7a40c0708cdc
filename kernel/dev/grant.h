/*
 * The device grant rule (docs/isolation.md, "Authority"; docs/drivers.md
 * "Device grants"), one copy for both platforms: the VM's dev/device.c
 * (ramdisk0 and the PCI functions) and maple-hosted's hosted/device.c
 * (ramdisk0). A device goes to the domains the manifest names for their
 * image; at most one running domain holds it, and a holder that failed or
 * went away is succeeded only by an instance its own creator makes.
 * Locking is the caller's (the VM holds its devices lock around each).
 * Portable: klog and fmt are the only services it uses.
 */
#ifndef DEV_GRANT_H
#define DEV_GRANT_H

#include <domain/authority.h>
#include <domain/domain_state.h>
#include <maple/abi.h>
#include <stddef.h>
#include <stdint.h>

/* Who holds a device. Granted to the domain with handle `holder` (0:
 * nobody). `lineage` is the handle of the holder's creator (0: the kernel or
 * console): while it lives, the device waits for that creator's next
 * instance of the image (a shadow restarting its driver), and no other may
 * have it. */
struct device_grant {
	uint64_t holder;
	uint64_t lineage;
	char holder_name[MAPLE_DOMAIN_NAME_MAX];
	char lineage_name[MAPLE_DOMAIN_NAME_MAX];
};

/* Why a domain created by `creator` (a handle; 0: the kernel) may not be
 * granted g, or NULL if it may, given the states of g's holder and lineage
 * now (DOMAIN_GONE for a handle that names nothing any more). */
const char *grant_refusal(const struct device_grant *g, enum domain_state holder,
			  enum domain_state lineage, uint64_t creator);

/* "membdev (id 4)", or "nobody: it is kept for the next instance
 * bdev_shadow (id 1) creates", or "nobody": for the log and the console. */
void grant_describe_holder(const struct device_grant *g, char *buf, size_t len);

/* Decide the grant of g to d (being created): when the caller's own
 * refusal `why` (a PCI function being stopped) is NULL, the rule decides
 * with the holder's and lineage's states. A granted g is held by d, with
 * d's creator as the lineage. held_by gets the holder before the decision
 * (grant_describe_holder), for grant_log. The refusal, or NULL if granted. */
const char *grant_decide(struct device_grant *g, const struct authority_domain *d, const char *why,
			 enum domain_state holder, enum domain_state lineage, char *held_by,
			 size_t len);

/* Log grant_decide's outcome for device `name` (outside the caller's lock):
 * "device: NAME granted to D (id N), created by C" or "device: NAME not
 * granted to D (id N): WHY (granted to HELD_BY)". */
void grant_log(const char *name, const struct authority_domain *d, const char *why,
	       const char *held_by);

/* d asked to act on device `name` (`what`: "map", "map a BAR of", ...)
 * that `holder` (grant_describe_holder) holds: count the refusal, log it
 * within the domain's share ("device: rogue (id 2) may not map ramdisk0:
 * it is granted to membdev (id 1)"), and return -MAPLE_EPERM. */
long grant_refuse(const struct authority_domain *d, const char *what, const char *name,
		  const char *holder);

/* The domain with handle h goes: if it holds g, g is held by nobody,
 * still kept for h's creator (its lineage). Whether h held it. */
bool grant_end(struct device_grant *g, uint64_t h);

#endif
