/*
 * The exchange heap for domains: owned references (RRefs) to objects on the
 * shared heap (ABI: maple/rref_abi.h). Allocation and freeing are
 * syscalls; moving and borrowing happen on cross-domain calls, by the gate,
 * as the method word says (generated IDL proxies set it). Payloads are
 * plain memory every domain can reach: ownership decides who may free,
 * move, lend or nest an RRef, not who can scribble on it.
 */
#ifndef MAPLE_RREF_H
#define MAPLE_RREF_H

#include <maple/rref_abi.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t rref_t;

/* A zeroed object of `size` bytes, owned by this domain; RREF_NULL on failure. */
rref_t rref_alloc(uint32_t type, size_t size);
/* The same, or the reason it failed: -MAPLE_EQUOTA at this domain's RRef
 * limits, -MAPLE_ENOMEM when the machine is out, -MAPLE_EINVAL for a bad size. */
long rref_try_alloc(uint32_t type, size_t size);
/* Free an RRef this domain owns and does not lend out, with its children. */
long rref_free(rref_t r);
/* Make child (owned here) a part of parent (owned here, perhaps nested). */
long rref_nest(rref_t child, rref_t parent);
/* Take a nested child back out; it is owned by this domain again. */
long rref_unnest(rref_t child);
/* The payload's physical address, for DMA of its first len bytes: for an
 * RRef this domain owns, or one lent to it by the call it is serving;
 * -MAPLE_EINVAL if len is past the payload, -MAPLE_EPERM if not ours. */
long rref_bus(rref_t r, uint64_t len);
/* Have r (owned and allocated here) come back here, with what is nested in
 * it, if a domain it was moved to dies holding it, instead of being freed
 * with that domain: a client gets its buffers back from a crashed driver. */
long rref_recall(rref_t r);
/* The payload's size class in bytes, for an RRef this domain owns: how
 * much a device may write into it. A domain can allocate any type id with
 * any size, so a driver checks this before trusting sizeof its struct. */
long rref_size(rref_t r);
/* Owner id (bits 15:0) and borrow count (bits 47:16), for an RRef this
 * domain owns or borrows; -MAPLE_EPERM for anyone else's. For tests. */
long rref_info(rref_t r);

/*
 * The payload's address; NULL for RREF_NULL. The handle's payload bits are 0
 * there, and payload offset 0 is SHARED_HEAP_VA: the first object on the
 * shared heap, live and someone else's. A driver following RREF_NULL (a
 * deque's get past its length returns it) must fault on page 0, a clean
 * crash its shadow recovers from, not serve that object: bench/faults found
 * membdev, its loop's step flipped, writing a block's bytes over it and that
 * object's bytes to blocks (docs/bench-faults.md, finding 1).
 */
static inline void *rref_ptr(rref_t r)
{
	uintptr_t p = r == RREF_NULL ? 0 : (uintptr_t)RREF_HANDLE_PTR(r);
	/* Opaque to the optimiser: code that has already tested the handle
	 * must not get "may be NULL" warnings on every use, and no check of
	 * the pointer (block_in_shared_heap, drivers/block/block.h) may be folded away. */
	__asm__("" : "+r"(p));
	return (void *)p;
}

#endif
