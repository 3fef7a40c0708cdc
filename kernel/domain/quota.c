/*
 * A domain's limits (domain/quota.h), built into the VM's kernel,
 * maple-hosted and the host unit tests (kernel/test/test_quota.c) alike.
 */
#include <domain/quota.h>
#include <maple/abi.h>

long quota_heap_region(uint64_t bytes)
{
	if (!bytes || bytes > DOMAIN_HEAP_MAX)
		return -MAPLE_EINVAL;
	if (bytes < DOMAIN_HEAP_REGION_MIN)
		return (long)DOMAIN_HEAP_REGION_MIN;
	return (long)((bytes + QUOTA_PAGE - 1) & ~(QUOTA_PAGE - 1));
}

long quota_window(uint64_t base, uint64_t next, uint64_t len)
{
	uint64_t end = base + DOMAIN_HEAP_OFF + DOMAIN_HEAP_MAX;
	/* Written without next + len, which a huge len would overflow. */
	return next <= end && len <= end - next ? 0 : -MAPLE_EQUOTA;
}

long quota_charge(uint64_t charged, uint64_t limit, uint64_t pages)
{
	/* INVARIANT (both platforms): charged <= limit after every charge;
	 * written without charged + pages, which could overflow. */
	return pages <= limit && charged <= limit - pages ? 0 : -MAPLE_EQUOTA;
}

uint64_t quota_default_mem_pages(uint64_t frames)
{
	return frames / DOMAIN_MEM_SHARE;
}

long quota_thread(uint32_t alive, uint32_t limit)
{
	return alive < limit ? 0 : -MAPLE_EAGAIN;
}
