/*
 * Syscall stubs: one typed wrapper per domain syscall of abi.h (SYS_RETURN
 * and SYS_GATE_STACK belong to the gate and have none), plus the cached
 * peer lookup built on SYS_LOOKUP.
 */
#include "syscall.h"

#include <lib/string.h>
#include <sdk/dom.h>

long maple_null(void)
{
	return syscall0(SYS_NULL);
}

long maple_log(const char *text, size_t len)
{
	return syscall2(SYS_LOG, (long)text, (long)len);
}

void maple_thread_exit(void)
{
	syscall0(SYS_THREAD_EXIT);
	__builtin_trap(); /* the kernel broke its word: fault rather than run on */
}

long maple_yield(void)
{
	return syscall0(SYS_YIELD);
}

long maple_sleep_ns(uint64_t ns)
{
	return syscall1(SYS_SLEEP_NS, (long)ns);
}

uint64_t maple_clock_ns(void)
{
	return (uint64_t)syscall0(SYS_CLOCK_NS);
}

long maple_heap_grow(uint64_t bytes)
{
	return syscall1(SYS_HEAP_GROW, (long)bytes);
}

long maple_thread_create(void (*fn)(void *), void *arg)
{
	return syscall2(SYS_THREAD_CREATE, (long)(uintptr_t)fn, (long)arg);
}

long maple_export(const uint64_t *entries, size_t n)
{
	return syscall2(SYS_EXPORT, (long)entries, (long)n);
}

long maple_domain_create(const char *image)
{
	return syscall2(SYS_DOMAIN_CREATE, (long)image, (long)strlen(image));
}

long maple_domain_destroy(uint64_t handle)
{
	return syscall1(SYS_DOMAIN_DESTROY, (long)handle);
}

void *maple_device_map(const char *name, uint64_t *size)
{
	long bytes = syscall2(SYS_DEVICE_SIZE, (long)name, (long)strlen(name));
	long va = bytes < 0 ? bytes : syscall2(SYS_DEVICE_MAP, (long)name, (long)strlen(name));
	if (va < 0)
		return NULL;
	*size = (uint64_t)bytes;
	return (void *)(uintptr_t)va;
}

long maple_device_bar(const char *name, uint64_t bar)
{
	return syscall3(SYS_DEVICE_BAR, (long)name, (long)strlen(name), (long)bar);
}

long maple_device_bar_size(const char *name, uint64_t bar)
{
	return syscall3(SYS_DEVICE_BAR_SIZE, (long)name, (long)strlen(name), (long)bar);
}

long maple_dma_alloc(uint64_t bytes)
{
	return syscall1(SYS_DMA_ALLOC, (long)bytes);
}

long maple_dma_bus(const void *addr)
{
	return syscall1(SYS_DMA_BUS, (long)(uintptr_t)addr);
}

long maple_device_busmaster(const char *name, uint64_t on)
{
	return syscall3(SYS_DEVICE_BUSMASTER, (long)name, (long)strlen(name), (long)on);
}

long maple_device_info(const char *name, struct maple_pci_info *out)
{
	return syscall3(SYS_DEVICE_INFO, (long)name, (long)strlen(name), (long)(uintptr_t)out);
}

long maple_device_config(const char *name, uint64_t off)
{
	return syscall3(SYS_DEVICE_CONFIG, (long)name, (long)strlen(name), (long)off);
}

long maple_lookup(const char *name)
{
	return syscall2(SYS_LOOKUP, (long)name, (long)strlen(name));
}

long maple_domain_id(void)
{
	return syscall0(SYS_DOMAIN_ID);
}

long maple_peer_id(struct maple_peer *p)
{
	long id = __atomic_load_n(&p->id, __ATOMIC_RELAXED);
	if (id >= 0)
		return id;
	/* Racing threads look up the same name and store the same id. */
	id = maple_lookup(p->name);
	if (id >= 0)
		__atomic_store_n(&p->id, id, __ATOMIC_RELAXED);
	return id;
}
