/*
 * The domain lifecycle's log lines and the reasons it gives, one copy for
 * both platforms (the VM's domain/domain.c, maple-hosted's
 * hosted/domains.c and hosted/loader.c): tests on both assert them
 * byte for byte, and ci/ctl users read them. Portable: klog and fmt only.
 */
#ifndef DOMAIN_LIFECYCLE_LINES_H
#define DOMAIN_LIFECYCLE_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "domain: membdev created by bdev_shadow: id 2, key 5, 28 KiB image at
 * 0x10080000000, 6 methods" */
void lifecycle_log_created(const char *name, const char *creator_name, uint32_t id, int key,
			   uint64_t image_bytes, uint64_t base, uint64_t methods);
/* "domain: membdev (id 2) failed: killed from the control console" */
void lifecycle_log_failed(const char *name, uint32_t id, const char *reason);
/* "domain: membdev (id 2) destroyed, 23 pages and 0 RRefs returned" */
void lifecycle_log_destroyed(const char *name, uint32_t id, uint64_t pages, uint64_t rrefs);

/*
 * The outcome of a new domain's init (its _domain_start returned r; it
 * `failed` meanwhile, for fail_reason): false if it may run on, else true
 * with err the reason its creator hears, a failure first ("membdev: init
 * failed: <reason>"), else a negative result ("membdev: domain_main
 * returned -22").
 */
bool lifecycle_init_failed(const char *name, long r, bool failed, const char *fail_reason,
			   char *err, size_t errlen);

/* Whether an image `file` spanning span bytes fits a slot's image room
 * (DOMAIN_IMAGE_MAX); else false with err "FILE: image spans more than 256
 * MiB". */
bool lifecycle_image_fits(const char *file, uint64_t span, char *err, size_t errlen);

/* The reasons a create or destroy is refused for lack of a thing, in err:
 * no free slot, no protection key left for a domain (every domain key
 * held), no boot module by that name, no domain by that handle. */
void lifecycle_no_slot(char *err, size_t errlen);
void lifecycle_no_key(char *err, size_t errlen);
void lifecycle_no_module(const char *module, char *err, size_t errlen);
void lifecycle_no_such_domain(char *err, size_t errlen);

/* Why a destroy left `name` failed with its memory: calls into it still in
 * progress after the platform waited waited_ms for them to leave. */
void lifecycle_calls_remain(const char *name, uint64_t active, uint64_t waited_ms, char *err,
			    size_t errlen);

#endif
