/*
 * The kernel's side of the exchange heap (xheap/rref.c; ABI in
 * maple/rref_abi.h), and the TRUSTED header layout it shares with the gate
 * (xheap/rref.gate.c), whose transfer protocol is described there.
 */
#ifndef CORE_RREF_H
#define CORE_RREF_H

#include <domain/gate_layout.h>
#include <maple/rref_abi.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One header per RRef in the TRUSTED table at RREF_TABLE_VA. Everything the
 * gate decides on is in `state`, one 64-bit word changed only by atomic
 * operations, so an owner, a borrow count and a generation are always read
 * and changed together:
 *
 *   bits 15:0   owner: a domain id (1..GATE_MAX_DOMAINS-1), RS_OWNER_NESTED
 *               (inside a parent; the kernel's side table says which), or
 *               RS_OWNER_FREE
 *   bits 39:16  borrows: calls in progress that borrow it
 *   bit  40     RS_BUSY: one gate call (or the kernel) is moving it; no one
 *               else may move, lend, free or nest it until it is clear
 *   bits 63:41  generation, as in the handle (RREF_HANDLE_GEN)
 *
 * `payload` is the payload's address (0 while the header is free); it is
 * written only while the header is free, before the state that makes the
 * header live.
 */
struct rref_header {
	uint64_t state;
	uint64_t payload;
};
#define RREF_HDR_SIZE	     16
#define RS_OWNER_MASK	     0xffffUL
#define RS_OWNER_FREE	     0
#define RS_OWNER_NESTED	     0xffffUL
#define RS_BORROW_SHIFT	     16
#define RS_BORROW_BITS	     24
#define RS_BORROW_ONE	     (1UL << RS_BORROW_SHIFT)
#define RS_BORROW_MASK	     (((1UL << RS_BORROW_BITS) - 1) << RS_BORROW_SHIFT)
#define RS_BUSY		     (1UL << 40)
#define RS_GEN_SHIFT	     41
#define RS_GEN_MASK	     (RREF_GEN_MASK << RS_GEN_SHIFT)
#define RS_STATE(owner, gen) ((uint64_t)(owner) | ((uint64_t)(gen) << RS_GEN_SHIFT))

_Static_assert(offsetof(struct rref_header, state) == 0, "layout");
_Static_assert(offsetof(struct rref_header, payload) == 8, "layout");
_Static_assert(sizeof(struct rref_header) == RREF_HDR_SIZE, "layout");
_Static_assert(RREF_TABLE_VA + (uint64_t)RREF_MAX * RREF_HDR_SIZE <= SHARED_HEAP_VA,
	       "the RRef header table (RREF_MAX headers) ends before the shared heap");
_Static_assert(RS_OWNER_MASK < RS_BORROW_ONE && (RS_BORROW_MASK & RS_BUSY) == 0 &&
		       RS_BUSY < (1UL << RS_GEN_SHIFT) && RS_GEN_SHIFT + RREF_GEN_BITS == 64,
	       "state fields do not overlap and fill the word");
/* Every borrow is held by one continuation, and a call borrows an RRef at
 * most once, so the count never exceeds the continuations that can exist.
 * A domain id fits the owner field below RS_OWNER_NESTED. */
_Static_assert(GATE_MAX_DOMAINS - 1 < RS_OWNER_NESTED && GATE_MAX_DOMAINS <= 256,
	       "domain ids fit the owner field (and the kernel's 8-bit payer)");
_Static_assert((uint64_t)GATE_MAX_THREADS *GATE_MAX_DEPTH < (1UL << RS_BORROW_BITS),
	       "borrows fit: one per continuation");

static inline uint32_t rs_owner(uint64_t s)
{
	return (uint32_t)(s & RS_OWNER_MASK);
}

static inline uint64_t rs_gen(uint64_t s)
{
	return s >> RS_GEN_SHIFT;
}

static inline uint64_t rs_borrows(uint64_t s)
{
	return (s & RS_BORROW_MASK) >> RS_BORROW_SHIFT;
}

/*
 * Per-domain limits on the heap, charged to the domain that allocates an
 * RRef for as long as it lives (the gate moves ownership without the
 * kernel, so the allocator pays; docs/exchange-heap.md). The kernel fills
 * one per domain at creation (struct domain's rref_limits).
 */
struct rref_limits {
	uint64_t headers; /* live RRefs */
	uint64_t bytes;	  /* their payloads, rounded up to their size class */
};
/* Defaults: 12 domains (one per protection key) at their limits take 24576
 * of the 32767 headers and 384 MiB of the 2 GiB window, so no one domain
 * can starve the others or the heap's own reserve of headers. */
#define RREF_DEFAULT_HEADERS 2048
#define RREF_DEFAULT_BYTES   (32UL << 20)
#define RREF_LIMITS_DEFAULT                                                                        \
	{                                                                                          \
		.headers = RREF_DEFAULT_HEADERS, .bytes = RREF_DEFAULT_BYTES                       \
	}

struct rref_stats {
	uint64_t live; /* RRefs allocated now */
	uint64_t allocs;
	uint64_t frees;
	uint64_t failures;
	uint64_t chunks;   /* 2 MiB chunks mapped now */
	uint64_t recalled; /* roots given back to their payer when their holder died */
};

/* Map the header table (boot CPU, after gate_init). */
void rref_init(void);
/* The syscalls; `caller`/`owner` are domain ids. Results as in rref_abi.h. */
long rref_alloc(uint32_t owner, const struct rref_limits *limits, uint32_t type, uint64_t size);
long rref_free(uint32_t caller, uint64_t handle);
long rref_nest(uint32_t caller, uint64_t child, uint64_t parent);
long rref_unnest(uint32_t caller, uint64_t child);
long rref_bus(uint32_t caller, uint64_t handle, uint64_t len);
/* SYS_RREF_RECALL: mark an RRef the caller owns and pays for as going back
 * to it when a holder dies (rref_reclaim). */
long rref_recall(uint32_t caller, uint64_t handle);
/* SYS_RREF_SIZE: the payload's size class in bytes, for its owner. */
long rref_size(uint32_t caller, uint64_t handle);
long rref_info(uint32_t caller, uint64_t handle);
/* A call that borrowed handle was unwound: end the borrow. */
void rref_end_borrow(uint64_t handle);
/* Free every RRef the domain owns, with their nested children; returns how
 * many. What it allocated and others hold is charged to the holders. */
uint64_t rref_reclaim(uint32_t owner);
/* What domain id has charged against its limits now (for `domains`). */
void rref_domain_usage(uint32_t id, uint64_t *count, uint64_t *bytes);
void rref_get_stats(struct rref_stats *out);

#endif
