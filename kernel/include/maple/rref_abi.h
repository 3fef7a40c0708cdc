/*
 * The exchange heap's ABI (DESIGN.md §6): owned references (RRefs) to
 * objects on the shared heap, and how cross-domain calls move or borrow
 * them. Shared by the kernel, the gate, the domain SDK, the IDL compiler's
 * output and host tests.
 *
 * An RRef is a 64-bit handle: the index of its header in bits 63:48 and the
 * payload's address in bits 47:0. Payloads live in SHARED-key pages, which
 * every domain may read and write; headers (owner, type id, size, borrow
 * count, parent) live in TRUSTED memory, which only the gate and the
 * kernel change. A handle whose payload address does not match its header
 * is refused everywhere.
 */
#ifndef MAPLE_RREF_ABI_H
#define MAPLE_RREF_ABI_H

#define RREF_INDEX_SHIFT 48
#define RREF_ADDR_MASK	 0x0000ffffffffffffUL
#define RREF_MAX	 32768 /* headers; index 0 is never used; handles stay positive */
#define RREF_NULL	 0UL

/* The shared heap: 2 MiB chunks, each holding objects of one power-of-two
 * size class from 64 bytes to 2 MiB. */
#define SHARED_HEAP_VA 0x0000009000000000UL
#define SHARED_CHUNK   0x200000UL
#define SHARED_CHUNKS  1024
#define RREF_MIN_SHIFT 6
#define RREF_MAX_SIZE  SHARED_CHUNK

/* Header table and chunk table in TRUSTED memory, after the gate's thread
 * slots (core/gate_layout.h asserts that they do not meet). */
#define RREF_TABLE_VA	  0x0000008001000000UL
#define RREF_HDR_SIZE	  32
#define RH_PAYLOAD	  0  /* uint64_t: payload address (0: free header) */
#define RH_OWNER	  8  /* uint16_t: owning domain id; RREF_OWNER_NESTED if inside a parent */
#define RH_TYPE		  12 /* uint32_t: type id (the IDL's) */
#define RH_SIZE		  16 /* uint32_t: payload bytes */
#define RH_BORROWS	  20 /* uint32_t: calls borrowing it right now */
#define RH_PARENT	  24 /* uint32_t: index of the parent when nested */
#define RREF_OWNER_NESTED 0xffff

/*
 * Cross-domain calls carry RRef transfer rules in the method word passed to
 * maple_xcall (maple/abi.h): bits 7:0 are the method index, bit 8+i says
 * argument i is an RRef moved to the callee, bit 12+i that it is an RRef
 * borrowed for the call, and bit 16 that the result is an RRef the callee
 * moves to the caller. The gate checks that the caller owns every moved or
 * borrowed RRef (and that nothing it moves is borrowed) before the call,
 * and otherwise returns -MAPLE_EPERM without calling; it moves ownership
 * on the way in and out, and ends borrows on return.
 */
#define XCALL_METHOD_MASK 0xff
#define XCALL_MOVE(i)	  (1UL << (8 + (i)))
#define XCALL_BORROW(i)	  (1UL << (12 + (i)))
#define XCALL_RESULT_RREF (1UL << 16)
#define XCALL_RREF_BITS	  0x1ff00

/* Syscalls for the shared heap (numbers continue maple/abi.h's). */
#define SYS_RREF_ALLOC	14 /* (type, size) -> RRef owned by the caller, payload zeroed */
#define SYS_RREF_FREE	15 /* (rref) -> 0; frees nested children too */
#define SYS_RREF_NEST	16 /* (child, parent) -> 0: child now belongs to parent */
#define SYS_RREF_UNNEST 17 /* (child) -> 0: back to the parent's owner */
#define SYS_RREF_BUS	18 /* (rref) -> physical address of the payload, for DMA */
#define SYS_RREF_INFO	19 /* (rref) -> owner id in bits 15:0, borrows in 47:16 (tests) */

#endif
