/*
 * Kernel heap. Requests up to KMALLOC_SLAB_MAX bytes come from slabs: one
 * frame each, holding objects of one power-of-two size class after a small
 * header. Larger requests get whole contiguous frames after the same
 * header. kfree finds the header by rounding down to the frame, so objects
 * carry no per-object header; a freed object is poisoned so a second free
 * is caught. Empty slabs go back to the frame allocator.
 *
 * kfree's panics stay: only kernel code holds kernel-heap pointers (no
 * syscall takes one from a domain), so a bad free is a kernel bug, and
 * running on with a corrupt heap would be worse than stopping.
 */
#include <core/panic.h>
#include <core/spinlock.h>
#include <lib/string.h>
#include <mm/frame.h>
#include <mm/kmalloc.h>
#include <mm/vm.h>

#define KMALLOC_MIN_SHIFT 4 /* 16 bytes */
#define KMALLOC_CLASSES	  8 /* 16 .. 2048 */
#define KMALLOC_SLAB_MAX  (1UL << (KMALLOC_MIN_SHIFT + KMALLOC_CLASSES - 1))
#define SLAB_MAGIC	  0x534c4142u /* "SLAB" */
#define LARGE_MAGIC	  0x4c415247u /* "LARG" */
#define FREE_POISON	  0xdeadf4eedeadf4eeULL

struct slab_header {
	uint32_t magic;
	uint32_t class_shift; /* log2 of the object size */
	uint64_t nframes;     /* large blocks: frames in the block */
	uint64_t requested;   /* large blocks: bytes asked for */
	uint32_t in_use;      /* slabs: live objects */
	uint32_t pad;
	struct slab_header *next_partial; /* slabs with free objects */
	void *free_list;
	uint64_t reserved[2];
};
_Static_assert(sizeof(struct slab_header) == 64, "objects start on a cache line");

struct free_object {
	struct free_object *next;
	uint64_t poison;
};

static struct slab_header *partial[KMALLOC_CLASSES];
static struct kmalloc_stats stats;
static struct spinlock heap_lock = SPINLOCK_INIT("kmalloc");

static unsigned class_of(size_t size)
{
	unsigned c = 0;
	while ((1UL << (KMALLOC_MIN_SHIFT + c)) < size)
		c++;
	return c;
}

static struct slab_header *slab_new(unsigned cls)
{
	uint64_t pa = frame_alloc();
	if (!pa)
		return NULL;
	struct slab_header *h = phys_to_virt(pa);
	memset(h, 0, sizeof *h);
	h->magic = SLAB_MAGIC;
	h->class_shift = KMALLOC_MIN_SHIFT + cls;
	size_t obj = 1UL << h->class_shift;
	for (size_t off = FRAME_SIZE - obj; off >= sizeof *h; off -= obj) {
		struct free_object *o = (void *)((char *)h + off);
		o->next = h->free_list;
		o->poison = FREE_POISON;
		h->free_list = o;
	}
	stats.frames++;
	return h;
}

static void *alloc_small(size_t size)
{
	unsigned cls = class_of(size);
	struct slab_header *h = partial[cls];
	if (!h) {
		h = slab_new(cls);
		if (!h)
			return NULL;
		partial[cls] = h;
	}
	struct free_object *o = h->free_list;
	h->free_list = o->next;
	o->poison = 0;
	h->in_use++;
	if (!h->free_list)
		partial[cls] = h->next_partial; /* full: off the list */
	return o;
}

static void *alloc_large(size_t size)
{
	uint64_t n = (size + sizeof(struct slab_header) + FRAME_SIZE - 1) / FRAME_SIZE;
	uint64_t pa = frame_alloc_contig(n, 1);
	if (!pa)
		return NULL;
	struct slab_header *h = phys_to_virt(pa);
	memset(h, 0, sizeof *h);
	h->magic = LARGE_MAGIC;
	h->nframes = n;
	h->requested = size;
	stats.frames += n;
	return h + 1;
}

/* Bytes a request occupies: its class size, or the request for large blocks. */
static size_t footprint(size_t size)
{
	return size <= KMALLOC_SLAB_MAX ? 1UL << (KMALLOC_MIN_SHIFT + class_of(size)) : size;
}

void *kmalloc(size_t size)
{
	if (!size)
		return NULL;
	spin_lock(&heap_lock);
	void *p = size <= KMALLOC_SLAB_MAX ? alloc_small(size) : alloc_large(size);
	if (p) {
		stats.allocs++;
		stats.bytes_in_use += footprint(size);
	}
	spin_unlock(&heap_lock);
	return p;
}

void *kzalloc(size_t size)
{
	void *p = kmalloc(size);
	if (p)
		memset(p, 0, size);
	return p;
}

static void free_small(struct slab_header *h, void *p)
{
	size_t obj = 1UL << h->class_shift;
	uint64_t off = (uint64_t)p - (uint64_t)h;
	if (off < sizeof *h || (FRAME_SIZE - off) % obj)
		panic("kfree: %p is not the start of a %zu-byte object", p, obj);
	struct free_object *o = p;
	if (o->poison == FREE_POISON)
		panic("kfree: double free of %p", p);
	unsigned cls = h->class_shift - KMALLOC_MIN_SHIFT;
	if (!h->free_list) { /* was full: back on the partial list */
		h->next_partial = partial[cls];
		partial[cls] = h;
	}
	o->next = h->free_list;
	o->poison = FREE_POISON;
	h->free_list = o;
	stats.bytes_in_use -= obj;
	if (--h->in_use == 0) {
		struct slab_header **pp = &partial[cls];
		while (*pp != h)
			pp = &(*pp)->next_partial;
		*pp = h->next_partial;
		h->magic = 0;
		frame_free(virt_to_phys(h), 1);
		stats.frames--;
	}
}

void kfree(void *p)
{
	if (!p)
		return;
	struct slab_header *h = (void *)((uint64_t)p & ~(FRAME_SIZE - 1));
	spin_lock(&heap_lock);
	if (h->magic == LARGE_MAGIC && p == (void *)(h + 1)) {
		stats.bytes_in_use -= h->requested;
		stats.frames -= h->nframes;
		h->magic = 0;
		if (frame_free(virt_to_phys(h), h->nframes) < 0)
			panic("kfree: frames of %p were not allocated", p);
	} else if (h->magic == SLAB_MAGIC) {
		free_small(h, p);
	} else {
		panic("kfree: %p was not returned by kmalloc (or was freed)", p);
	}
	stats.frees++;
	spin_unlock(&heap_lock);
}

void kmalloc_get_stats(struct kmalloc_stats *out)
{
	spin_lock(&heap_lock);
	*out = stats;
	spin_unlock(&heap_lock);
}
