/*
 * malloc, free, calloc and realloc on the domain's private heap. Memory
 * comes from SYS_HEAP_GROW in regions of at least HEAP_REGION bytes and is
 * never returned. Free blocks sit on one list sorted by address, so a freed
 * block merges with both neighbours on the way in; allocation is first
 * fit, splitting off the tail when it is big enough to be a block. One
 * dom_lock guards the list.
 */
#include <lib/string.h>
#include <sdk/dom.h>

#define HEAP_ALIGN  16
#define HEAP_REGION (64 * 1024)

/* Header of every block; `next` overlaps the payload and exists only while
 * the block is free. */
struct block {
	size_t size;	    /* the whole block, header included; a multiple of HEAP_ALIGN */
	uint64_t tag;	    /* TAG_USED or TAG_FREE, xored with the block's own address */
	struct block *next; /* free blocks: the next free block, by address */
};

#define HEADER	  offsetof(struct block, next)
#define MIN_BLOCK ((sizeof(struct block) + HEAP_ALIGN - 1) & ~(size_t)(HEAP_ALIGN - 1))
#define TAG_USED  0x75736564626c6b21ULL
#define TAG_FREE  0x66726565626c6b21ULL
_Static_assert(HEADER % HEAP_ALIGN == 0, "payloads must stay aligned");

static struct block *free_list;
static struct dom_lock heap_lock = DOM_LOCK_INIT;

static uint64_t tag(const struct block *b, uint64_t kind)
{
	return kind ^ (uintptr_t)b;
}

static uintptr_t end_of(const struct block *b)
{
	return (uintptr_t)b + b->size;
}

/* Puts free block b on the list in address order and merges it with the
 * blocks it touches. Landing inside a free block means b was freed twice. */
static void insert_free(struct block *b)
{
	struct block *prev = NULL, *cur = free_list;
	while (cur && cur < b) {
		prev = cur;
		cur = cur->next;
	}
	if ((prev && end_of(prev) > (uintptr_t)b) || cur == b)
		maple_panic("free(%p): double free (inside a free block)",
			    (void *)((uintptr_t)b + HEADER));

	b->tag = tag(b, TAG_FREE);
	if (prev && end_of(prev) == (uintptr_t)b) {
		prev->size += b->size;
		b = prev;
	} else if (prev) {
		prev->next = b;
	} else {
		free_list = b;
	}
	if (cur && end_of(b) == (uintptr_t)cur) {
		b->size += cur->size;
		b->next = cur->next;
	} else {
		b->next = cur;
	}
}

/* Adds a fresh region that holds at least `need` bytes to the free list. */
static bool grow(size_t need)
{
	size_t bytes = (need + HEAP_REGION - 1) & ~(size_t)(HEAP_REGION - 1);
	long addr = maple_heap_grow(bytes);
	if (addr < 0)
		return false;
	if (addr % HEAP_ALIGN != 0)
		maple_panic("malloc: SYS_HEAP_GROW returned misaligned region 0x%lx", addr);
	struct block *b = (struct block *)addr;
	b->size = bytes;
	insert_free(b);
	return true;
}

/* First fit: takes `need` bytes from the first free block that has them. */
static void *take(size_t need)
{
	for (struct block **link = &free_list; *link; link = &(*link)->next) {
		struct block *b = *link;
		if (b->size < need)
			continue;
		if (b->size - need >= MIN_BLOCK) {
			struct block *rest = (struct block *)((uintptr_t)b + need);
			rest->size = b->size - need;
			rest->tag = tag(rest, TAG_FREE);
			rest->next = b->next;
			*link = rest;
			b->size = need;
		} else {
			*link = b->next;
		}
		b->tag = tag(b, TAG_USED);
		return (void *)((uintptr_t)b + HEADER);
	}
	return NULL;
}

void *malloc(size_t size)
{
	if (size > SIZE_MAX / 2)
		return NULL;
	size_t need = (size + HEADER + HEAP_ALIGN - 1) & ~(size_t)(HEAP_ALIGN - 1);
	if (need < MIN_BLOCK)
		need = MIN_BLOCK;

	dom_lock(&heap_lock);
	void *p = take(need);
	if (!p && grow(need))
		p = take(need);
	dom_unlock(&heap_lock);
	return p;
}

/* The header of p, which `who` got from a caller; panics unless p is in use. */
static struct block *used_block(const void *p, const char *who)
{
	struct block *b = (struct block *)((uintptr_t)p - HEADER);
	if ((uintptr_t)p % HEAP_ALIGN != 0)
		maple_panic("%s(%p): not a pointer malloc returned (misaligned)", who, p);
	if (b->tag == tag(b, TAG_FREE))
		maple_panic("%s(%p): double free", who, p);
	if (b->tag != tag(b, TAG_USED))
		maple_panic("%s(%p): not a heap block (foreign pointer or corrupt header)", who, p);
	return b;
}

void free(void *p)
{
	if (!p)
		return;
	dom_lock(&heap_lock);
	insert_free(used_block(p, "free"));
	dom_unlock(&heap_lock);
}

void *calloc(size_t n, size_t size)
{
	size_t bytes;
	if (__builtin_mul_overflow(n, size, &bytes))
		return NULL;
	void *p = malloc(bytes);
	if (p)
		memset(p, 0, bytes);
	return p;
}

void *realloc(void *p, size_t size)
{
	if (!p)
		return malloc(size);
	if (size == 0) {
		free(p);
		return NULL;
	}
	/* The caller owns p, so its size cannot change under us. */
	size_t have = used_block(p, "realloc")->size - HEADER;
	if (size <= have)
		return p;
	void *q = malloc(size);
	if (q) {
		memcpy(q, p, have);
		free(p);
	}
	return q;
}
