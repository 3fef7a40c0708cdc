/*
 * A domain's 1 GiB slot, as both platforms lay it out (domain/domain_mem.c
 * in the VM, hosted/domains.c and hosted/device.c in maple-hosted): the
 * image, the heap window, the thread stacks and a granted device, at these
 * offsets from the slot's base; and a domain's default limits. Portable:
 * no kernel-only include.
 */
#ifndef DOMAIN_SLOT_LAYOUT_H
#define DOMAIN_SLOT_LAYOUT_H

#include <maple/abi.h>
#include <stdint.h>

#define DOMAIN_IMAGE_MAX  (256UL << 20)
#define DOMAIN_HEAP_OFF	  DOMAIN_IMAGE_MAX
#define DOMAIN_HEAP_MAX	  (512UL << 20)
#define DOMAIN_STACK_OFF  (DOMAIN_HEAP_OFF + DOMAIN_HEAP_MAX)
#define DOMAIN_STACK_SIZE (64UL << 10)
#define DOMAIN_STACK_SLOT (128UL << 10) /* the lower half is guard */
/* SYS_HEAP_GROW's smallest region (a domain's malloc grows by 64 KiB). */
#define DOMAIN_HEAP_REGION_MIN (64UL << 10)
/* Where a granted software device (ramdisk0) is mapped: after the stacks. */
#define DOMAIN_DEVICE_OFF (DOMAIN_STACK_OFF + 128UL * 1024 * 1024)

/* The base of domain id's slot. */
static inline uint64_t slot_base(uint32_t id)
{
	return MAPLE_DOMAIN_BASE + (uint64_t)id * MAPLE_DOMAIN_SLOT;
}

/* The lowest address of the stack of the thread in gate slot thread_slot,
 * in the slot at base: the upper half of its DOMAIN_STACK_SLOT, so that an
 * overflow runs into the unmapped lower half, never another's stack. */
static inline uint64_t slot_stack_lo(uint64_t base, uint32_t thread_slot)
{
	return base + DOMAIN_STACK_OFF + (uint64_t)thread_slot * DOMAIN_STACK_SLOT +
	       DOMAIN_STACK_SLOT - DOMAIN_STACK_SIZE;
}

/* Defaults: a quarter of the machine's frames, and 16 threads. */
#define DOMAIN_MEM_SHARE       4
#define DOMAIN_THREADS_DEFAULT 16

#endif
