/* Exchange-heap syscalls for domains (sdk/rref.h). */
#include "syscall.h"

#include <sdk/rref.h>

long rref_try_alloc(uint32_t type, size_t size)
{
	return syscall2(SYS_RREF_ALLOC, (long)type, (long)size);
}

rref_t rref_alloc(uint32_t type, size_t size)
{
	long r = rref_try_alloc(type, size);
	return r < 0 ? RREF_NULL : (rref_t)r;
}

long rref_free(rref_t r)
{
	return syscall1(SYS_RREF_FREE, (long)r);
}

long rref_nest(rref_t child, rref_t parent)
{
	return syscall2(SYS_RREF_NEST, (long)child, (long)parent);
}

long rref_unnest(rref_t child)
{
	return syscall1(SYS_RREF_UNNEST, (long)child);
}

long rref_bus(rref_t r, uint64_t len)
{
	return syscall2(SYS_RREF_BUS, (long)r, (long)len);
}

long rref_recall(rref_t r)
{
	return syscall1(SYS_RREF_RECALL, (long)r);
}

long rref_size(rref_t r)
{
	return syscall1(SYS_RREF_SIZE, (long)r);
}

long rref_info(rref_t r)
{
	return syscall1(SYS_RREF_INFO, (long)r);
}
