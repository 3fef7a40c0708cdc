/* The kernel heap: small objects from size-class slabs, large ones from whole frames. */
#ifndef MM_KMALLOC_H
#define MM_KMALLOC_H

#include <stddef.h>
#include <stdint.h>

struct kmalloc_stats {
	uint64_t bytes_in_use; /* requested bytes not yet freed */
	uint64_t frames;       /* frames the heap holds (slabs and large blocks) */
	uint64_t allocs;
	uint64_t frees;
};

/* 16-byte aligned; NULL when memory runs out. kmalloc(0) returns NULL. */
void *kmalloc(size_t size);
void *kzalloc(size_t size);
/* Panics on a pointer the heap never returned or already freed. */
void kfree(void *p);
void kmalloc_get_stats(struct kmalloc_stats *out);

#endif
