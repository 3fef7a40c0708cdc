/*
 * Host tests for kernel/mm/frame.c. Physical memory is a host buffer: a
 * physical address is an offset into it, and the fabricated boot memory
 * maps below describe that buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <pthread.h>

#include <mm/frame.h>

#define MiB	  0x100000ULL
#define PHYS_SIZE (16 * MiB)
#define NFRAMES	  (PHYS_SIZE / FRAME_SIZE)

static uint8_t *phys;
static struct bootinfo bi;

/* What the allocator has handed out, per frame, to catch duplicates. */
static uint8_t owned[NFRAMES];

static void add(struct bootinfo *b, uint64_t base, uint64_t length, uint32_t type)
{
	assert_true(b->mem_count < BOOTINFO_MAX_MEM);
	b->mem[b->mem_count].base = base;
	b->mem[b->mem_count].length = length;
	b->mem[b->mem_count].type = type;
	b->mem_count++;
}

/*
 * The standard machine: low memory and the BIOS area, the kernel at 1 MiB,
 * loader data, a big usable range, ACPI tables between two usable ranges
 * and a reserved top.
 */
#define KERNEL_BASE  (1 * MiB)
#define LOADER_BASE  (2 * MiB)
#define USABLE1_BASE (3 * MiB)
#define ACPI_BASE    (14 * MiB)
#define USABLE2_BASE (14 * MiB + 512 * 1024)
#define TOP_RESERVED (15 * MiB)

#define USABLE1_FRAMES ((ACPI_BASE - USABLE1_BASE) / FRAME_SIZE)
#define USABLE2_FRAMES ((TOP_RESERVED - USABLE2_BASE) / FRAME_SIZE)
#define MANAGED	       (USABLE1_FRAMES + USABLE2_FRAMES)

static void standard_map(struct bootinfo *b)
{
	memset(b, 0, sizeof(*b));
	add(b, 0, 0x9fc00, BOOTINFO_MEM_USABLE);
	add(b, 0x9fc00, 0x400, BOOTINFO_MEM_RESERVED);
	add(b, 0xf0000, 0x10000, BOOTINFO_MEM_RESERVED);
	add(b, KERNEL_BASE, LOADER_BASE - KERNEL_BASE, BOOTINFO_MEM_KERNEL);
	add(b, LOADER_BASE, USABLE1_BASE - LOADER_BASE, BOOTINFO_MEM_LOADER);
	add(b, USABLE1_BASE, ACPI_BASE - USABLE1_BASE, BOOTINFO_MEM_USABLE);
	add(b, ACPI_BASE, USABLE2_BASE - ACPI_BASE, BOOTINFO_MEM_ACPI_RECLAIM);
	add(b, USABLE2_BASE, TOP_RESERVED - USABLE2_BASE, BOOTINFO_MEM_USABLE);
	add(b, TOP_RESERVED, PHYS_SIZE - TOP_RESERVED, BOOTINFO_MEM_RESERVED);
}

static int setup(void **state)
{
	(void)state;
	memset(phys, 0xa5, PHYS_SIZE);
	memset(owned, 0, sizeof(owned));
	standard_map(&bi);
	assert_int_equal(frame_init(&bi, (uintptr_t)phys), 0);
	return 0;
}

static int group_setup(void **state)
{
	(void)state;
	phys = aligned_alloc(FRAME_SIZE, PHYS_SIZE);
	return phys ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	free(phys);
	return 0;
}

static struct frame_stats stats(void)
{
	struct frame_stats s;
	frame_get_stats(&s);
	return s;
}

static bool in_usable(uint64_t p)
{
	return (p >= USABLE1_BASE && p < ACPI_BASE) || (p >= USABLE2_BASE && p < TOP_RESERVED);
}

/* Check an allocation, record it, and scribble over the frame: if the
 * allocator ever handed out its own bitmap, the scribbles would show. */
static void take(uint64_t p, uint64_t n)
{
	assert_true(p != 0);
	assert_int_equal(p % FRAME_SIZE, 0);
	assert_true(p + n * FRAME_SIZE <= PHYS_SIZE);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t f = p / FRAME_SIZE + i;
		assert_int_equal(owned[f], 0);
		owned[f] = 1;
	}
	memset(phys + p, 0x5a, n * FRAME_SIZE);
}

static void give_back(uint64_t p, uint64_t n)
{
	assert_int_equal(frame_free(p, n), 0);
	for (uint64_t i = 0; i < n; i++)
		owned[p / FRAME_SIZE + i] = 0;
}

static void test_init_counters(void **state)
{
	(void)state;
	struct frame_stats s = stats();

	assert_int_equal(s.managed, MANAGED);
	assert_int_equal(s.bitmap_frames, 1);
	assert_int_equal(s.free, MANAGED - 1);
	assert_int_equal(s.allocs, 0);
	assert_int_equal(s.frees, 0);
	assert_int_equal(s.failures, 0);
}

static void test_bitmap_placement(void **state)
{
	(void)state;
	/* The first usable range at or above 1 MiB holds the bitmap. One bit
	 * per frame up to the top of usable memory: frames below 1 MiB
	 * reserved, the bitmap's own frame allocated, the rest of that word
	 * free, and the bits past the end set. */
	const uint64_t *bm = (const uint64_t *)(phys + USABLE1_BASE);
	const uint64_t top = TOP_RESERVED / FRAME_SIZE;

	for (unsigned w = 0; w < LOADER_BASE / FRAME_SIZE / 64; w++)
		assert_true(bm[w] == ~0ULL);
	assert_true(bm[USABLE1_BASE / FRAME_SIZE / 64] == 1);
	assert_true(bm[USABLE1_BASE / FRAME_SIZE / 64 + 1] == 0);
	assert_true(bm[ACPI_BASE / FRAME_SIZE / 64] == ~0ULL);
	assert_true(bm[USABLE2_BASE / FRAME_SIZE / 64] == 0);
	assert_true(bm[top / 64 - 1] == 0);
	/* what follows the bitmap's last word is untouched */
	assert_int_equal(phys[USABLE1_BASE + top / 8], 0xa5);
}

static void test_exhaustion(void **state)
{
	(void)state;
	uint64_t n = 0, p;

	while ((p = frame_alloc()) != 0) {
		assert_true(in_usable(p));
		assert_true(p != USABLE1_BASE); /* the bitmap */
		take(p, 1);
		n++;
		assert_true(n <= MANAGED);
	}
	assert_int_equal(n, MANAGED - 1);
	struct frame_stats s = stats();
	assert_int_equal(s.free, 0);
	assert_int_equal(s.allocs, MANAGED - 1);
	assert_int_equal(s.failures, 1);
	assert_int_equal(frame_alloc(), 0);
	assert_int_equal(frame_alloc_contig(1, 1), 0);
	assert_int_equal(stats().failures, 3);

	/* The allocator survived every frame being scribbled on. Give all
	 * back and take all again. */
	for (uint64_t f = 0; f < NFRAMES; f++)
		if (owned[f])
			give_back(f * FRAME_SIZE, 1);
	s = stats();
	assert_int_equal(s.free, MANAGED - 1);
	assert_int_equal(s.frees, MANAGED - 1);
	n = 0;
	while ((p = frame_alloc()) != 0) {
		take(p, 1);
		n++;
	}
	assert_int_equal(n, MANAGED - 1);
}

/* Allocations on a domain's behalf stop at the kernel reserve; the
 * kernel's own go on into it. */
static void test_domain_reserve(void **state)
{
	(void)state;
	const uint64_t reserve = MANAGED / 8; /* below FRAME_RESERVE_DEFAULT here */
	uint64_t n = 0, p;

	assert_true(reserve < FRAME_RESERVE_DEFAULT);
	assert_int_equal(stats().reserve, reserve);
	assert_int_equal(frame_alloc_contig_domain(MANAGED - reserve, 1), 0);
	while ((p = frame_alloc_domain()) != 0) {
		take(p, 1);
		n++;
	}
	assert_int_equal(n, MANAGED - 1 - reserve);
	struct frame_stats s = stats();
	assert_int_equal(s.free, reserve);
	assert_int_equal(s.reserve_refusals, 2);
	assert_int_equal(frame_alloc_contig_domain(1, 1), 0);
	assert_int_equal(stats().reserve_refusals, 3);

	p = frame_alloc();
	take(p, 1);
	p = frame_alloc_contig(4, 1);
	take(p, 4);
	assert_int_equal(stats().free, reserve - 5);
	assert_int_equal(frame_alloc_domain(), 0);

	/* Freed frames refill the reserve before domains see any. */
	give_back(p, 4);
	assert_int_equal(frame_alloc_domain(), 0);
	for (uint64_t f = 0; f < NFRAMES && stats().free < reserve + 1; f++)
		if (owned[f])
			give_back(f * FRAME_SIZE, 1);
	p = frame_alloc_domain();
	take(p, 1);
	assert_int_equal(stats().free, reserve);
}

static void test_next_fit(void **state)
{
	(void)state;
	uint64_t a = frame_alloc();
	uint64_t b = frame_alloc();
	uint64_t c;

	assert_int_equal(a, USABLE1_BASE + FRAME_SIZE);
	assert_int_equal(b, a + FRAME_SIZE);
	assert_int_equal(frame_free(a, 1), 0);
	/* next fit: the search goes on after b, not back to a */
	c = frame_alloc();
	assert_int_equal(c, b + FRAME_SIZE);
	/* only when the end is reached does it wrap around to a */
	while ((c = frame_alloc()) != a)
		assert_true(c != 0);
	assert_int_equal(frame_alloc(), 0);
}

/* frame_claim takes exactly the frames asked for, only when every one is
 * free and managed, and counts them like an allocation. */
static void test_claim(void **state)
{
	(void)state;
	uint64_t a = frame_alloc_contig(4, 1);
	assert_true(a != 0);
	assert_int_equal(frame_claim(a, 1), -1); /* allocated */
	assert_int_equal(frame_free(a, 4), 0);
	struct frame_stats before, after;
	frame_get_stats(&before);
	assert_int_equal(frame_claim(a + FRAME_SIZE, 2), 0);
	frame_get_stats(&after);
	assert_int_equal(after.free, before.free - 2);
	assert_int_equal(frame_claim(a, 2), -1);	 /* its second frame is taken */
	assert_int_equal(frame_claim(a + 1, 1), -1);	 /* unaligned */
	assert_int_equal(frame_claim(a, 0), -1);	 /* nothing */
	assert_int_equal(frame_claim(PHYS_SIZE, 1), -1); /* not managed */
	assert_int_equal(frame_claim(0, 1), -1);	 /* below the managed ranges */
	assert_int_equal(frame_free(a + FRAME_SIZE, 2), 0);
	frame_get_stats(&after);
	assert_int_equal(after.free, before.free);
}

static void test_next_fit_crosses_words(void **state)
{
	(void)state;
	/* take 200 frames (more than three bitmap words), free one early
	 * and one late, and see the late one come first */
	uint64_t p[200];

	for (int i = 0; i < 200; i++)
		p[i] = frame_alloc();
	assert_int_equal(frame_free(p[3], 1), 0);
	assert_int_equal(frame_free(p[150], 1), 0);
	uint64_t next = frame_alloc();
	assert_int_equal(next, p[199] + FRAME_SIZE);
}

static void test_contig_alignment(void **state)
{
	(void)state;
	static const uint64_t aligns[] = {1, 2, 4, 16, 64, 512};

	for (unsigned i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
		uint64_t n = aligns[i] * 3 + 1;
		uint64_t p = frame_alloc_contig(n, aligns[i]);
		assert_int_equal(p % (aligns[i] * FRAME_SIZE), 0);
		/* one usable range holds all of it */
		assert_true(in_usable(p) && in_usable(p + (n - 1) * FRAME_SIZE));
		assert_true(p + n * FRAME_SIZE <= ACPI_BASE || p >= USABLE2_BASE);
		take(p, n);
	}
	/* single frames avoid everything taken */
	uint64_t q;
	while ((q = frame_alloc()) != 0)
		take(q, 1);
}

static void test_contig_next_fit_and_gaps(void **state)
{
	(void)state;
	/* The first frame after the bitmap starts the search. */
	uint64_t p = frame_alloc_contig(8, 1);
	assert_int_equal(p, USABLE1_BASE + FRAME_SIZE);
	/* Aligned to 2 MiB: the bitmap sits at 3 MiB, so 4 MiB. */
	p = frame_alloc_contig(1, 512);
	assert_int_equal(p, 4 * MiB);
	/* Larger than any usable range: fails, counted once. */
	uint64_t before = stats().failures;
	assert_int_equal(frame_alloc_contig(USABLE1_FRAMES, 1), 0);
	assert_int_equal(stats().failures, before + 1);
	/* Next fit: runs continue after the last one, leaving the 247-frame
	 * hole before 4 MiB for when the search wraps around. */
	assert_int_equal(frame_alloc_contig(248, 1), 4 * MiB + FRAME_SIZE);
	assert_int_equal(frame_alloc_contig(247, 1), 4 * MiB + 249 * FRAME_SIZE);
	assert_int_equal(frame_alloc(), 4 * MiB + 496 * FRAME_SIZE);
}

static void test_contig_fragmented(void **state)
{
	(void)state;
	uint64_t p;

	while ((p = frame_alloc()) != 0)
		take(p, 1);
	/* free every odd frame of a stretch: no two free frames touch */
	uint64_t base = 5 * MiB;
	for (uint64_t i = 1; i < 64; i += 2)
		give_back(base + i * FRAME_SIZE, 1);
	assert_int_equal(frame_alloc_contig(2, 1), 0);
	/* free 12: the run 11..13 appears and the search takes 11 and 12 */
	give_back(base + 12 * FRAME_SIZE, 1);
	assert_int_equal(frame_alloc_contig(2, 1), base + 11 * FRAME_SIZE);
	/* an aligned pair needs an even start: none until 22 is freed */
	assert_int_equal(frame_alloc_contig(2, 2), 0);
	give_back(base + 22 * FRAME_SIZE, 1);
	assert_int_equal(frame_alloc_contig(2, 2), base + 22 * FRAME_SIZE);
	give_back(base + 26 * FRAME_SIZE, 1);
	assert_int_equal(frame_alloc_contig(3, 1), base + 25 * FRAME_SIZE);
	/* every frame handed out was one just freed */
	assert_int_equal(frame_alloc_contig(2, 1), 0);
}

static void test_contig_bad_arguments(void **state)
{
	(void)state;
	struct frame_stats before = stats();

	assert_int_equal(frame_alloc_contig(0, 1), 0);
	assert_int_equal(frame_alloc_contig(1, 0), 0);
	assert_int_equal(frame_alloc_contig(1, 3), 0);
	assert_int_equal(frame_alloc_contig(1, 6), 0);
	struct frame_stats after = stats();
	assert_memory_equal(&before, &after, sizeof(before));
	/* valid but impossible requests are failures */
	assert_int_equal(frame_alloc_contig(UINT64_MAX, 1), 0);
	assert_int_equal(frame_alloc_contig(1, 1ULL << 40), 0);
	assert_int_equal(frame_alloc_contig(1, 1ULL << 63), 0);
	assert_int_equal(frame_alloc_contig(NFRAMES, 1), 0);
	assert_int_equal(stats().failures, 4);
	assert_int_equal(stats().free, MANAGED - 1);
}

static void test_double_free(void **state)
{
	(void)state;
	uint64_t a = frame_alloc();

	assert_int_equal(frame_free(a, 1), 0);
	struct frame_stats before = stats();
	assert_int_equal(frame_free(a, 1), -1);
	struct frame_stats after = stats();
	assert_memory_equal(&before, &after, sizeof(before));

	/* a range with one frame already free is refused as a whole */
	uint64_t p = frame_alloc_contig(4, 1);
	assert_int_equal(frame_free(p + FRAME_SIZE, 1), 0);
	before = stats();
	assert_int_equal(frame_free(p, 4), -1);
	after = stats();
	assert_memory_equal(&before, &after, sizeof(before));
	/* ... and changed nothing: the other three are still allocated */
	assert_int_equal(frame_free(p, 1), 0);
	assert_int_equal(frame_free(p + 2 * FRAME_SIZE, 2), 0);
	assert_int_equal(frame_free(p, 4), -1);
	assert_int_equal(stats().free, MANAGED - 1);
}

static void test_unmanaged_free(void **state)
{
	(void)state;
	static const struct {
		uint64_t phys, n;
	} bad[] = {
		{0, 1},
		{0x1000, 1},
		{0x9f000, 1},
		{0xf0000, 1},
		{KERNEL_BASE, 1},
		{LOADER_BASE, 1},
		{USABLE1_BASE, 1}, /* the bitmap itself */
		{USABLE1_BASE - FRAME_SIZE, 2},
		{ACPI_BASE, 1},
		{ACPI_BASE - FRAME_SIZE, 2}, /* runs off the end of a usable range */
		{USABLE2_BASE - FRAME_SIZE, 2},
		{TOP_RESERVED, 1},
		{TOP_RESERVED - FRAME_SIZE, 2},
		{PHYS_SIZE, 1},
		{1ULL << 40, 1},
		{UINT64_MAX & ~(FRAME_SIZE - 1), 1},
		{USABLE1_BASE + 4 * FRAME_SIZE, UINT64_MAX},
		{USABLE1_BASE + 4 * FRAME_SIZE + 1, 1}, /* unaligned */
		{USABLE1_BASE + 4 * FRAME_SIZE, 0},
	};

	/* make every managed frame allocated, so only management decides */
	uint64_t p;
	while ((p = frame_alloc()) != 0)
		;
	struct frame_stats before = stats();
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(frame_free(bad[i].phys, bad[i].n), -1);
	struct frame_stats after = stats();
	assert_memory_equal(&before, &after, sizeof(before));
	/* nothing was freed by the refused calls */
	assert_int_equal(frame_alloc(), 0);
	/* a valid free at the very edges still works */
	assert_int_equal(frame_free(ACPI_BASE - FRAME_SIZE, 1), 0);
	assert_int_equal(frame_free(TOP_RESERVED - FRAME_SIZE, 1), 0);
	assert_int_equal(frame_free(USABLE2_BASE, 1), 0);
}

static void test_reserved_never_returned(void **state)
{
	(void)state;
	uint64_t p;

	/* interleave single and contiguous allocations until nothing is left */
	for (int i = 0;; i++) {
		uint64_t n = (uint64_t)(i % 5) + 1;
		p = (i % 2) ? frame_alloc_contig(n, 1) : frame_alloc();
		if (p == 0)
			break;
		n = (i % 2) ? n : 1;
		for (uint64_t k = 0; k < n; k++)
			assert_true(in_usable(p + k * FRAME_SIZE));
		assert_true(p != USABLE1_BASE);
		take(p, n);
	}
	while ((p = frame_alloc()) != 0)
		take(p, 1);
	assert_int_equal(stats().free, 0);
}

static void test_release_range(void **state)
{
	(void)state;
	struct frame_stats s;

	/* not releasable: kernel, reserved, low memory, beyond memory */
	assert_int_equal(frame_release_range(KERNEL_BASE, LOADER_BASE - KERNEL_BASE), 0);
	assert_int_equal(frame_release_range(TOP_RESERVED, 4 * FRAME_SIZE), 0);
	assert_int_equal(frame_release_range(0, 0x9fc00), 0);
	assert_int_equal(frame_release_range(PHYS_SIZE, MiB), 0);
	assert_int_equal(frame_release_range(LOADER_BASE, 0), 0);
	assert_int_equal(frame_release_range(UINT64_MAX - 10, 100), 0);
	/* already managed: nothing to add */
	assert_int_equal(frame_release_range(USABLE1_BASE, MiB), 0);
	s = stats();
	assert_int_equal(s.managed, MANAGED);

	/* LOADER memory, partial frames at both ends skipped */
	assert_int_equal(frame_release_range(LOADER_BASE + 1, FRAME_SIZE * 4), 3);
	/* then the whole of it; what is already managed is not counted again */
	assert_int_equal(frame_release_range(LOADER_BASE, USABLE1_BASE - LOADER_BASE), 253);
	assert_int_equal(frame_release_range(LOADER_BASE, USABLE1_BASE - LOADER_BASE), 0);
	s = stats();
	assert_int_equal(s.managed, MANAGED + 256);
	assert_int_equal(s.free, MANAGED + 256 - 1);

	/* A range spanning kernel, loader, usable and ACPI memory releases
	 * only the ACPI part. */
	assert_int_equal(frame_release_range(KERNEL_BASE, USABLE2_BASE - KERNEL_BASE),
			 (USABLE2_BASE - ACPI_BASE) / FRAME_SIZE);
	s = stats();
	assert_int_equal(s.managed, MANAGED + 256 + 128);

	/* The ACPI range merged with its usable neighbours: one run from
	 * after the bitmap to the top crosses both former boundaries, and
	 * can be freed in one call. */
	uint64_t run = (TOP_RESERVED - USABLE1_BASE) / FRAME_SIZE - 1;
	uint64_t p = frame_alloc_contig(run, 1);
	assert_int_equal(p, USABLE1_BASE + FRAME_SIZE);
	assert_int_equal(frame_free(p, run), 0);
	/* and the loader frames are handed out first, below the bitmap */
	assert_int_equal(frame_alloc_contig(1, 1), LOADER_BASE);
	uint64_t n = 0;
	while ((p = frame_alloc()) != 0) {
		assert_true(p >= LOADER_BASE && p < TOP_RESERVED && p != USABLE1_BASE);
		take(p, 1);
		n++;
	}
	assert_int_equal(n, MANAGED + 256 + 128 - 1 - 1);
}

static void test_no_usable_memory(void **state)
{
	(void)state;
	struct bootinfo b;

	/* no usable memory at all */
	memset(&b, 0, sizeof(b));
	add(&b, 0, PHYS_SIZE, BOOTINFO_MEM_RESERVED);
	assert_int_equal(frame_init(&b, (uintptr_t)phys), -1);
	assert_int_equal(frame_alloc(), 0);
	assert_int_equal(frame_alloc_contig(1, 1), 0);
	assert_int_equal(frame_free(USABLE1_BASE, 1), -1);
	assert_int_equal(frame_release_range(0, PHYS_SIZE), 0);

	/* usable memory only below 1 MiB counts as none */
	memset(&b, 0, sizeof(b));
	add(&b, 0x1000, 0x9e000, BOOTINFO_MEM_USABLE);
	assert_int_equal(frame_init(&b, (uintptr_t)phys), -1);

	/* an empty map */
	memset(&b, 0, sizeof(b));
	assert_int_equal(frame_init(&b, (uintptr_t)phys), -1);
	struct frame_stats s = stats();
	assert_int_equal(s.managed, 0);
	assert_int_equal(s.free, 0);
}

static void test_unaligned_and_overlapping_entries(void **state)
{
	(void)state;
	struct bootinfo b;

	memset(&b, 0, sizeof(b));
	/* only whole frames inside a usable entry are managed */
	add(&b, MiB + 0x800, 5 * FRAME_SIZE, BOOTINFO_MEM_USABLE);
	/* overlapping and out-of-order usable entries are not counted twice */
	add(&b, 4 * MiB, 2 * MiB, BOOTINFO_MEM_USABLE);
	add(&b, 3 * MiB, 2 * MiB, BOOTINFO_MEM_USABLE);
	add(&b, 3 * MiB, 0, BOOTINFO_MEM_USABLE);
	assert_int_equal(frame_init(&b, (uintptr_t)phys), 0);
	struct frame_stats s = stats();
	assert_int_equal(s.managed, 4 + 3 * MiB / FRAME_SIZE);
	assert_int_equal(s.bitmap_frames, 1);
	/* the bitmap went into the first entry */
	assert_int_equal(frame_alloc(), MiB + 2 * FRAME_SIZE);
	assert_int_equal(frame_alloc_contig(2, 1), MiB + 3 * FRAME_SIZE);
	assert_int_equal(frame_alloc_contig(1, 1), 3 * MiB);
	uint64_t p = frame_alloc_contig(512, 512);
	assert_int_equal(p, 4 * MiB);
	assert_int_equal(frame_free(p - 4 * FRAME_SIZE, 4), -1);
	assert_int_equal(frame_free(p, 512), 0);
	/* a run from one entry into the other, freed in one call */
	p = frame_alloc_contig(768 - 1, 1);
	assert_int_equal(p, 3 * MiB + FRAME_SIZE);
	assert_int_equal(frame_free(p, 768 - 1), 0);
}

static void test_bitmap_skips_small_range(void **state)
{
	(void)state;
	/* 160 MiB of memory needs a two-frame bitmap, which does not fit in
	 * the one-frame range at 1 MiB. Only touched pages are ever backed. */
	const uint64_t size = 160 * MiB;
	uint8_t *big = aligned_alloc(FRAME_SIZE, size);
	struct bootinfo b;

	assert_non_null(big);
	memset(&b, 0, sizeof(b));
	add(&b, MiB, FRAME_SIZE, BOOTINFO_MEM_USABLE);
	add(&b, 2 * MiB, size - 2 * MiB, BOOTINFO_MEM_USABLE);
	assert_int_equal(frame_init(&b, (uintptr_t)big), 0);
	struct frame_stats s = stats();
	assert_int_equal(s.bitmap_frames, 2);
	assert_int_equal(s.managed, 1 + (size - 2 * MiB) / FRAME_SIZE);
	assert_int_equal(frame_alloc(), MiB);
	assert_int_equal(frame_alloc(), 2 * MiB + 2 * FRAME_SIZE);
	assert_int_equal(frame_free(2 * MiB, 1), -1);
	assert_int_equal(frame_free(2 * MiB + FRAME_SIZE, 1), -1);
	uint64_t p = frame_alloc_contig(1024, 1024);
	assert_int_equal(p, 4 * MiB);
	free(big);
	/* leave the allocator pointing at the shared buffer again */
	assert_int_equal(frame_init(&bi, (uintptr_t)phys), 0);
}

static void test_top_covers_releasable(void **state)
{
	(void)state;
	/* Loader data above the last usable byte still gets bitmap bits, so
	 * it can be released. */
	struct bootinfo b;

	memset(&b, 0, sizeof(b));
	add(&b, MiB, 3 * MiB, BOOTINFO_MEM_USABLE);
	add(&b, 4 * MiB, MiB, BOOTINFO_MEM_LOADER);
	assert_int_equal(frame_init(&b, (uintptr_t)phys), 0);
	assert_int_equal(stats().managed, 3 * MiB / FRAME_SIZE);
	assert_int_equal(frame_release_range(4 * MiB, MiB), MiB / FRAME_SIZE);
	/* 2 MiB .. 5 MiB: crosses into the released range */
	assert_int_equal(frame_alloc_contig(768, 256), 2 * MiB);
}

static void test_counters_consistent(void **state)
{
	(void)state;
	uint64_t held[64];
	uint64_t held_n[64];
	unsigned nheld = 0;
	uint64_t allocated = 0, allocs = 0, frees = 0, failures = 0;
	uint64_t rng = 12345;

	for (int step = 0; step < 20000; step++) {
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		unsigned r = (unsigned)(rng >> 33);
		if (nheld < 64 && r % 3 != 0) {
			uint64_t n = (r % 7 == 0) ? (r >> 8) % 700 + 1 : 1;
			uint64_t align = 1ULL << ((r >> 4) % 4);
			uint64_t p =
				n == 1 && align == 1 ? frame_alloc() : frame_alloc_contig(n, align);
			if (p == 0) {
				failures++;
				continue;
			}
			take(p, n);
			held[nheld] = p;
			held_n[nheld++] = n;
			allocated += n;
			allocs++;
		} else if (nheld > 0) {
			unsigned k = r % nheld;
			give_back(held[k], held_n[k]);
			allocated -= held_n[k];
			frees++;
			held[k] = held[--nheld];
			held_n[k] = held_n[nheld];
		}
		struct frame_stats s = stats();
		assert_int_equal(s.free, MANAGED - 1 - allocated);
		assert_int_equal(s.allocs, allocs);
		assert_int_equal(s.frees, frees);
		assert_int_equal(s.failures, failures);
	}
}

/* Several host threads as CPUs: no frame may be handed out twice. */
#define THREADS 4
static uint8_t holder[NFRAMES];

static void *stress(void *arg)
{
	uint64_t seed = (uintptr_t)arg * 7919 + 1;
	uint64_t mine[128];
	unsigned n = 0;

	for (int i = 0; i < 20000; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		if ((seed >> 40) % 2 == 0 && n < 128) {
			uint64_t p = frame_alloc();
			if (p == 0)
				continue;
			if (__atomic_exchange_n(&holder[p / FRAME_SIZE], 1, __ATOMIC_SEQ_CST) != 0)
				return "frame handed out twice";
			mine[n++] = p;
		} else if (n > 0) {
			uint64_t p = mine[--n];
			__atomic_store_n(&holder[p / FRAME_SIZE], 0, __ATOMIC_SEQ_CST);
			if (frame_free(p, 1) != 0)
				return "free of an allocated frame failed";
		}
	}
	while (n > 0) {
		uint64_t p = mine[--n];
		__atomic_store_n(&holder[p / FRAME_SIZE], 0, __ATOMIC_SEQ_CST);
		if (frame_free(p, 1) != 0)
			return "free of an allocated frame failed";
	}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	pthread_t t[THREADS];
	void *res;

	/* few frames, so threads contend for the same ones */
	struct bootinfo b;
	memset(&b, 0, sizeof(b));
	add(&b, MiB, 65 * FRAME_SIZE, BOOTINFO_MEM_USABLE);
	assert_int_equal(frame_init(&b, (uintptr_t)phys), 0);
	memset(holder, 0, sizeof(holder));
	for (uintptr_t i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, stress, (void *)i), 0);
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], &res), 0);
		assert_null(res);
	}
	struct frame_stats s = stats();
	assert_int_equal(s.free, 64);
	assert_int_equal(s.allocs, s.frees);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_init_counters, setup),
		cmocka_unit_test_setup(test_bitmap_placement, setup),
		cmocka_unit_test_setup(test_exhaustion, setup),
		cmocka_unit_test_setup(test_domain_reserve, setup),
		cmocka_unit_test_setup(test_next_fit, setup),
		cmocka_unit_test_setup(test_claim, setup),
		cmocka_unit_test_setup(test_next_fit_crosses_words, setup),
		cmocka_unit_test_setup(test_contig_alignment, setup),
		cmocka_unit_test_setup(test_contig_next_fit_and_gaps, setup),
		cmocka_unit_test_setup(test_contig_fragmented, setup),
		cmocka_unit_test_setup(test_contig_bad_arguments, setup),
		cmocka_unit_test_setup(test_double_free, setup),
		cmocka_unit_test_setup(test_unmanaged_free, setup),
		cmocka_unit_test_setup(test_reserved_never_returned, setup),
		cmocka_unit_test_setup(test_release_range, setup),
		cmocka_unit_test_setup(test_no_usable_memory, setup),
		cmocka_unit_test_setup(test_unaligned_and_overlapping_entries, setup),
		cmocka_unit_test_setup(test_bitmap_skips_small_range, setup),
		cmocka_unit_test_setup(test_top_covers_releasable, setup),
		cmocka_unit_test_setup(test_counters_consistent, setup),
		cmocka_unit_test_setup(test_threads, setup),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
