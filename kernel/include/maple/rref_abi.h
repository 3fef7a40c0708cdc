/*
 * The exchange heap's ABI (DESIGN.md §6): owned references (RRefs) to
 * objects on the shared heap, and how cross-domain calls move or borrow
 * them. Shared by the kernel, the gate, the domain SDK, the IDL compiler's
 * output and host tests.
 *
 * Payloads live in SHARED-key pages, which every domain may read and write;
 * headers (owner, borrow count, generation) live in TRUSTED memory, which
 * only the gate and the kernel change (xheap/rref.h).
 */
#ifndef MAPLE_RREF_ABI_H
#define MAPLE_RREF_ABI_H

#ifndef __ASSEMBLY__
#include <stdint.h>
#endif

/* The shared heap: a 2 GiB window of 2 MiB chunks, each holding objects of
 * one power-of-two size class from 64 bytes to 2 MiB. */
#define SHARED_HEAP_VA 0x0000009000000000UL
#define SHARED_CHUNK   0x200000UL
#define SHARED_CHUNKS  1024
#define RREF_MIN_SHIFT 6
#define RREF_MAX_SIZE  SHARED_CHUNK

/*
 * An RRef is a 64-bit handle, always positive (so a syscall or a call can
 * return either one or a negative error):
 *
 *   bit  63     0
 *   bits 62:48  header index, 1..RREF_MAX-1 (0 is never used: handles are never 0)
 *   bits 47:25  generation of that header: it advances on every free, so
 *               a handle kept after its RRef was freed never names the
 *               RRef allocated next in the same header (until the header
 *               has been reused 2^23 times; headers are reused in FIFO
 *               order, docs/exchange-heap.md)
 *   bits 24:0   the payload's offset in the shared heap in 64-byte units:
 *               payload = SHARED_HEAP_VA + (bits 24:0) * 64, no syscall
 *
 * The kernel and the gate accept a handle only if its header is live with
 * that generation and that payload; anything else is refused.
 */
#define RREF_SLOT_BITS	 25
#define RREF_SLOT_MASK	 ((1UL << RREF_SLOT_BITS) - 1)
#define RREF_GEN_SHIFT	 RREF_SLOT_BITS
#define RREF_GEN_BITS	 23
#define RREF_GEN_MASK	 ((1UL << RREF_GEN_BITS) - 1)
#define RREF_INDEX_SHIFT (RREF_GEN_SHIFT + RREF_GEN_BITS)
#define RREF_INDEX_BITS	 15
#define RREF_MAX	 (1U << RREF_INDEX_BITS) /* headers; index 0 is never used */
#define RREF_NULL	 0UL

#define RREF_HANDLE_INDEX(h) ((uint32_t)((h) >> RREF_INDEX_SHIFT))
#define RREF_HANDLE_GEN(h)   (((h) >> RREF_GEN_SHIFT) & RREF_GEN_MASK)
#define RREF_HANDLE_PTR(h)   (SHARED_HEAP_VA + (((h)&RREF_SLOT_MASK) << RREF_MIN_SHIFT))
#define RREF_HANDLE(index, gen, payload)                                                           \
	(((uint64_t)(index) << RREF_INDEX_SHIFT) | ((uint64_t)(gen) << RREF_GEN_SHIFT) |           \
	 (((payload)-SHARED_HEAP_VA) >> RREF_MIN_SHIFT))

/*
 * A tree of nested RRefs has at most this many levels (a root and 15
 * generations below it). SYS_RREF_NEST refuses with -MAPLE_EDEPTH a child
 * whose own subtree would take the tree past it, whatever the parent's
 * depth: the bound holds for the whole tree, so freeing one is bounded too.
 */
#define RREF_MAX_LEVELS 16

/* The TRUSTED header table (xheap/rref.h); only the gate and kernel see it.
 * After the gate's thread slots (domain/gate_layout.h asserts that they do
 * not meet). */
#define RREF_TABLE_VA 0x0000008001000000UL

/*
 * Cross-domain calls carry RRef transfer rules in the method word passed to
 * maple_xcall (maple/abi.h): bits 7:0 are the method index, bit 8+i says
 * argument i is an RRef moved to the callee, bit 12+i that it is an RRef
 * borrowed for the call, and bit 16 that the result is an RRef the callee
 * moves to the caller. The gate checks that the caller owns every moved or
 * borrowed RRef (and that nothing it moves is borrowed) before the call,
 * and otherwise returns -MAPLE_EPERM without calling; it moves ownership
 * on the way in and out, and ends borrows on return. A transfer is all or
 * nothing: if one argument is refused, none has moved.
 */
#define XCALL_METHOD_MASK 0xff
#define XCALL_MOVE(i)	  (1UL << (8 + (i)))
#define XCALL_BORROW(i)	  (1UL << (12 + (i)))
#define XCALL_RESULT_RREF (1UL << 16)
#define XCALL_RREF_BITS	  0x1ff00

/*
 * Syscalls for the shared heap (numbers continue maple/abi.h's). Errors:
 * -MAPLE_EINVAL for a handle that names no live RRef (a stale or forged
 * one) or a bad size, -MAPLE_EPERM for an RRef the caller may not use
 * that way, -MAPLE_EQUOTA when the caller is at its RRef limits (headers
 * or bytes; it keeps running), -MAPLE_ENOMEM when the machine is out of
 * headers or memory for the heap, -MAPLE_EDEPTH for nesting past
 * RREF_MAX_LEVELS.
 */
#define SYS_RREF_ALLOC	14 /* (type, size) -> RRef owned by the caller, payload zeroed */
#define SYS_RREF_FREE	15 /* (rref) -> 0; frees nested children too */
#define SYS_RREF_NEST	16 /* (child, parent) -> 0: child now belongs to parent */
#define SYS_RREF_UNNEST 17 /* (child) -> 0: back to the parent's owner */
/* (rref, len) -> physical (bus) address of the payload, for DMA of its first
 * len bytes (-MAPLE_EINVAL past its size); the payload is physically
 * contiguous up to its size class (a power of two, at most 2 MiB). For an
 * RRef the caller owns or holds nested in one it owns, or borrows in a call
 * in progress on this thread (a driver DMAs into its client's request). */
#define SYS_RREF_BUS 18
/* (rref) -> owner id in bits 15:0, borrows in 47:16 (tests); only for an
 * RRef the caller owns (or holds nested in one it owns) or borrows in a
 * call in progress on this thread; otherwise -MAPLE_EPERM */
#define SYS_RREF_INFO 19
/* (rref) -> the payload's size class in bytes (a power of two >= the size
 * it was allocated with), for an RRef the caller owns: what a driver may
 * let a device write into it; -MAPLE_EPERM for anyone else's. Any domain
 * may allocate any type id with any size, so a driver cannot trust sizeof
 * its struct. (Numbered with issue 11's syscalls, maple/abi.h.) */
#define SYS_RREF_SIZE 33
/* (rref) -> 0: mark an RRef the caller owns and pays for (allocated it, or
 * inherited the charge) as recalled: if a domain that holds it as a root
 * dies, the kernel gives it back to its payer, with whatever is nested in
 * it, instead of freeing it (after the dead domain's devices stopped).
 * -MAPLE_EPERM for anyone else's. The mark lasts until the RRef is freed. */
#define SYS_RREF_RECALL 34

#ifndef __ASSEMBLY__
_Static_assert(RREF_SLOT_BITS + RREF_GEN_BITS + RREF_INDEX_BITS == 63,
	       "handle fields fill bits 62:0 and leave bit 63 clear");
_Static_assert((SHARED_CHUNKS * SHARED_CHUNK) >> RREF_MIN_SHIFT == 1UL << RREF_SLOT_BITS,
	       "the slot field covers the whole shared heap in 64-byte units");
_Static_assert((SHARED_HEAP_VA & ((SHARED_CHUNKS * SHARED_CHUNK) - 1)) == 0,
	       "the shared heap is aligned to its size");
_Static_assert(RREF_SLOT_MASK >> RREF_GEN_SHIFT == 0 &&
		       (RREF_GEN_MASK << RREF_GEN_SHIFT) >> RREF_INDEX_SHIFT == 0,
	       "handle fields do not overlap");
_Static_assert(((uint64_t)(RREF_MAX - 1) << RREF_INDEX_SHIFT) >> 63 == 0,
	       "the largest index leaves the handle positive");
#endif

#endif
