/* The kernel's side of the exchange heap (core/rref.c; ABI in maple/rref_abi.h). */
#ifndef CORE_RREF_H
#define CORE_RREF_H

#include <maple/rref_abi.h>
#include <stddef.h>
#include <stdint.h>

struct rref_header {
	uint64_t payload;
	uint16_t owner;
	uint16_t pad;
	uint32_t type;
	uint32_t size;
	uint32_t borrows;
	uint32_t parent;
	uint32_t pad2;
};
_Static_assert(offsetof(struct rref_header, owner) == RH_OWNER, "layout");
_Static_assert(offsetof(struct rref_header, type) == RH_TYPE, "layout");
_Static_assert(offsetof(struct rref_header, size) == RH_SIZE, "layout");
_Static_assert(offsetof(struct rref_header, borrows) == RH_BORROWS, "layout");
_Static_assert(offsetof(struct rref_header, parent) == RH_PARENT, "layout");
_Static_assert(sizeof(struct rref_header) == RREF_HDR_SIZE, "layout");

struct rref_stats {
	uint64_t live; /* RRefs allocated now */
	uint64_t allocs;
	uint64_t frees;
	uint64_t failures;
	uint64_t chunks; /* 2 MiB chunks mapped now */
};

/* Map the header table (boot CPU, after gate_init). */
void rref_init(void);
/* The syscalls; `caller`/`owner` are domain ids. Results as in rref_abi.h. */
long rref_alloc(uint32_t owner, uint32_t type, uint64_t size);
long rref_free(uint32_t caller, uint64_t handle);
long rref_nest(uint32_t caller, uint64_t child, uint64_t parent);
long rref_unnest(uint32_t caller, uint64_t child);
long rref_bus(uint32_t caller, uint64_t handle);
long rref_info(uint64_t handle);
/* A call that borrowed handle was unwound: end the borrow. */
void rref_end_borrow(uint64_t handle);
/* Free every RRef the domain owns, with their nested children; returns how many. */
uint64_t rref_reclaim(uint32_t owner);
void rref_get_stats(struct rref_stats *out);

#endif
