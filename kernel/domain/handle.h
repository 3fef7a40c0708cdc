/*
 * Domain handles, as both platforms make and read them (SYS_DOMAIN_ID,
 * SYS_LOOKUP, SYS_DOMAIN_DESTROY, a domain's creator, a device's holder):
 * the slot id in bits 15:0 and the slot's generation above
 * (HANDLE_GEN_SHIFT, domain/gate_layout.h, which the gate's own check
 * reads too). A slot's generation moves on with every domain placed in it,
 * so a handle of a destroyed domain never names the slot's next one.
 * Portable: no kernel-only include (hosted/ builds it too).
 */
#ifndef DOMAIN_HANDLE_H
#define DOMAIN_HANDLE_H

#include <domain/gate_layout.h>
#include <stdbool.h>
#include <stdint.h>

static inline uint64_t handle_make(uint32_t id, uint32_t gen)
{
	return id | (uint64_t)gen << HANDLE_GEN_SHIFT;
}

/* The slot a handle names: 1..GATE_MAX_DOMAINS-1, or 0 for none (0 is the
 * kernel's handle, and an id past the table names nothing). */
static inline uint32_t handle_slot(uint64_t h)
{
	uint32_t id = (uint32_t)(h & HANDLE_ID_MASK);
	return id < GATE_MAX_DOMAINS ? id : 0;
}

/* Whether h names the domain in slot id with generation gen: the whole
 * handle must match, so a stale generation, or bits above the generation,
 * name nothing. */
static inline bool handle_names(uint64_t h, uint32_t id, uint32_t gen)
{
	return id && h == handle_make(id, gen);
}

/* The generation after gen (wrapping after 2^32 domains in one slot). */
static inline uint32_t handle_next_gen(uint32_t gen)
{
	return gen + 1;
}

#endif
