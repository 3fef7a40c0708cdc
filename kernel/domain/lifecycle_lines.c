/*
 * The lifecycle's lines and reasons (domain/lifecycle_lines.h), built into
 * the VM's kernel, maple-hosted and the host unit tests
 * (kernel/test/test_lifecycle_lines.c) alike.
 */
#include <core/log.h>
#include <domain/gate_layout.h>
#include <domain/lifecycle_lines.h>
#include <domain/slot_layout.h>
#include <lib/fmt.h>

void lifecycle_log_created(const char *name, const char *creator_name, uint32_t id, int key,
			   uint64_t image_bytes, uint64_t base, uint64_t methods)
{
	klog("domain: %s created by %s: id %u, key %d, %lu KiB image at %#lx, %lu methods", name,
	     creator_name, id, key, (unsigned long)(image_bytes >> 10), (unsigned long)base,
	     (unsigned long)methods);
}

void lifecycle_log_failed(const char *name, uint32_t id, const char *reason)
{
	klog("domain: %s (id %u) failed: %s", name, id, reason);
}

void lifecycle_log_destroyed(const char *name, uint32_t id, uint64_t pages, uint64_t rrefs)
{
	klog("domain: %s (id %u) destroyed, %lu pages and %lu RRefs returned", name, id,
	     (unsigned long)pages, (unsigned long)rrefs);
}

bool lifecycle_init_failed(const char *name, long r, bool failed, const char *fail_reason,
			   char *err, size_t errlen)
{
	if (failed)
		fmt_snprintf(err, errlen, "%s: init failed: %s", name, fail_reason);
	else if (r < 0)
		fmt_snprintf(err, errlen, "%s: domain_main returned %ld", name, r);
	return failed || r < 0;
}

bool lifecycle_image_fits(const char *file, uint64_t span, char *err, size_t errlen)
{
	if (span <= DOMAIN_IMAGE_MAX)
		return true;
	fmt_snprintf(err, errlen, "%s: image spans more than %lu MiB", file,
		     (unsigned long)(DOMAIN_IMAGE_MAX >> 20));
	return false;
}

void lifecycle_no_slot(char *err, size_t errlen)
{
	fmt_snprintf(err, errlen, "all %d domain slots are in use", GATE_MAX_DOMAINS - 1);
}

void lifecycle_no_key(char *err, size_t errlen)
{
	fmt_snprintf(err, errlen, "no protection key left (%d domains hold the %d domain keys)",
		     PKEY_COUNT - PKEY_FIRST_DOMAIN, PKEY_COUNT - PKEY_FIRST_DOMAIN);
}

void lifecycle_no_module(const char *module, char *err, size_t errlen)
{
	fmt_snprintf(err, errlen, "no boot module named '%s'", module);
}

void lifecycle_no_such_domain(char *err, size_t errlen)
{
	fmt_snprintf(err, errlen, "no such domain (already destroyed?)");
}

void lifecycle_calls_remain(const char *name, uint64_t active, uint64_t waited_ms, char *err,
			    size_t errlen)
{
	fmt_snprintf(err, errlen,
		     "%s still has %lu calls in progress after %lu ms; it stays failed, destroy it "
		     "again",
		     name, (unsigned long)active, (unsigned long)waited_ms);
}
