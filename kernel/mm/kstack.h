/* Kernel stacks with unmapped guard space below them, so overflow faults. */
#ifndef MM_KSTACK_H
#define MM_KSTACK_H

#include <stdbool.h>
#include <stdint.h>

struct kstack {
	uint64_t base; /* lowest mapped byte */
	uint64_t top;  /* one past the highest */
	uint32_t slot;
};

/* Returns 0, or -1 when slots or memory run out. */
int kstack_alloc(struct kstack *ks);
/* The stack stays mapped for reuse by the next kstack_alloc. */
void kstack_free(struct kstack *ks);
/* Freed stacks kept mapped for reuse. */
uint64_t kstack_cached(void);
/* Stacks allocated and not freed (a thread's until it is reaped). */
uint64_t kstack_in_use(void);
/* Whether va lies in the guard space of any stack (for fault reports). */
bool kstack_guard_hit(uint64_t va);

#endif
