/*
 * Physical frame allocator (mm/frame.h). One bitmap bit per 4 KiB frame
 * from address 0 up: set means allocated or not ours, clear means free. The
 * bitmap lives in the first usable range that fits it and is reached through
 * the caller's phys-to-virt offset.
 *
 * A set bit alone cannot tell an allocated frame from a reserved one, so two
 * small tables of frame ranges remember which frames are managed (free
 * calls are checked against them) and which reserved ranges may later be
 * released (LOADER, ACPI_RECLAIM). Both come from the boot memory map,
 * which is gone by the time frames are freed.
 *
 * Allocations on a domain's behalf keep out of the last stats.reserve free
 * frames (mm/frame.h): those are the kernel's for unwinding, destroying
 * and logging when a domain has taken everything else.
 */
#include <core/spinlock.h>
#include <lib/string.h>
#include <mm/frame.h>

/* Generous: each map entry yields at most one range, and releasing part of
 * an entry can split a gap once more. */
#define RANGES_MAX (2 * BOOTINFO_MAX_MEM)

struct range {
	uint64_t start, end; /* frame numbers, [start, end) */
};

/* Sorted, non-overlapping, non-adjacent (touching ranges are merged). */
struct ranges {
	unsigned n;
	struct range r[RANGES_MAX];
};

static struct spinlock lock = SPINLOCK_INIT("frame");
static uint64_t *bitmap;
static uint64_t nframes;  /* frames the bitmap covers, from frame 0 */
static uint64_t next_fit; /* where the next single-frame search starts */
static uint64_t bitmap_start;
static struct ranges managed;
static struct ranges releasable;
static struct frame_stats stats;

static bool may_become_usable(uint32_t type)
{
	return type == BOOTINFO_MEM_USABLE || type == BOOTINFO_MEM_LOADER ||
	       type == BOOTINFO_MEM_ACPI_RECLAIM;
}

/* Whole frames inside [base, base+length), clipped to what the bitmap may
 * hand out. Returns false when none are left. */
static bool frames_within(uint64_t base, uint64_t length, uint64_t limit, uint64_t *s, uint64_t *e)
{
	uint64_t end = length > UINT64_MAX - base ? UINT64_MAX : base + length;

	if (base > UINT64_MAX - (FRAME_SIZE - 1))
		return false;
	*s = (base + FRAME_SIZE - 1) >> FRAME_SHIFT;
	*e = end >> FRAME_SHIFT;
	if (*s < FRAME_LOW_RESERVED >> FRAME_SHIFT)
		*s = FRAME_LOW_RESERVED >> FRAME_SHIFT;
	if (*e > limit)
		*e = limit;
	return *s < *e;
}

/* Index of the first range starting after frame f. */
static unsigned ranges_after(const struct ranges *t, uint64_t f)
{
	unsigned lo = 0, hi = t->n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (t->r[mid].start <= f)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Whether [s, e) lies inside one range of t. */
static bool ranges_cover(const struct ranges *t, uint64_t s, uint64_t e)
{
	unsigned i = ranges_after(t, s);

	return i > 0 && t->r[i - 1].end >= e;
}

/* Add [s, e), merging with every range it overlaps or touches. Returns
 * false, changing nothing, when the table is full. */
static bool ranges_add(struct ranges *t, uint64_t s, uint64_t e)
{
	unsigned i = 0, j;

	while (i < t->n && t->r[i].end < s)
		i++;
	for (j = i; j < t->n && t->r[j].start <= e; j++) {
		if (t->r[j].start < s)
			s = t->r[j].start;
		if (t->r[j].end > e)
			e = t->r[j].end;
	}
	if (i == j) {
		if (t->n == RANGES_MAX)
			return false;
		memmove(&t->r[i + 1], &t->r[i], (t->n - i) * sizeof(t->r[0]));
		t->n++;
	} else {
		memmove(&t->r[i + 1], &t->r[j], (t->n - j) * sizeof(t->r[0]));
		t->n -= j - i - 1;
	}
	t->r[i].start = s;
	t->r[i].end = e;
	return true;
}

static uint64_t ranges_frames(const struct ranges *t)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < t->n; i++)
		sum += t->r[i].end - t->r[i].start;
	return sum;
}

/* First frame in [from, to) whose bit equals `set`, or `to`. Looks at a
 * whole word per step. */
static uint64_t find_bit(uint64_t from, uint64_t to, bool set)
{
	for (uint64_t f = from; f < to; f = (f | 63) + 1) {
		uint64_t w = set ? bitmap[f / 64] : ~bitmap[f / 64];
		w &= ~0ULL << (f % 64);
		if (w) {
			uint64_t hit = (f & ~63ULL) + (uint64_t)__builtin_ctzll(w);
			return hit < to ? hit : to;
		}
	}
	return to;
}

static void set_bits(uint64_t f, uint64_t n, bool set)
{
	while (n > 0) {
		unsigned off = f % 64;
		uint64_t cnt = 64 - off < n ? 64 - off : n;
		uint64_t mask = (cnt == 64 ? ~0ULL : (1ULL << cnt) - 1) << off;
		if (set)
			bitmap[f / 64] |= mask;
		else
			bitmap[f / 64] &= ~mask;
		f += cnt;
		n -= cnt;
	}
}

static void reset(void)
{
	bitmap = NULL;
	nframes = 0;
	next_fit = 0;
	bitmap_start = 0;
	managed.n = 0;
	releasable.n = 0;
	memset(&stats, 0, sizeof(stats));
}

int frame_init(const struct bootinfo *bi, uintptr_t virt_offset)
{
	uint64_t top = 0, words, need, s, e;
	const struct bootinfo_mem *m;
	unsigned count = bi->mem_count < BOOTINFO_MAX_MEM ? bi->mem_count : BOOTINFO_MAX_MEM;
	bool placed = false;

	spin_lock(&lock);
	reset();
	/* Cover what may be released later too, so it has bits to clear. */
	for (unsigned i = 0; i < count; i++) {
		m = &bi->mem[i];
		if (may_become_usable(m->type) &&
		    frames_within(m->base, m->length, UINT64_MAX, &s, &e) && e > top)
			top = e;
	}
	words = (top + 63) / 64;
	need = (words * sizeof(uint64_t) + FRAME_SIZE - 1) / FRAME_SIZE;
	for (unsigned i = 0; i < count && !placed && top > 0; i++) {
		m = &bi->mem[i];
		if (m->type == BOOTINFO_MEM_USABLE &&
		    frames_within(m->base, m->length, top, &s, &e) && e - s >= need) {
			bitmap_start = s;
			placed = true;
		}
	}
	if (!placed) {
		spin_unlock(&lock);
		return -1;
	}

	bitmap = (uint64_t *)(virt_offset + (uintptr_t)(bitmap_start << FRAME_SHIFT));
	nframes = top;
	memset(bitmap, 0xff, words * sizeof(uint64_t));
	for (unsigned i = 0; i < count; i++) {
		m = &bi->mem[i];
		if (!frames_within(m->base, m->length, top, &s, &e))
			continue;
		/* Cannot fail: one range per entry at most fits the tables. */
		if (m->type == BOOTINFO_MEM_USABLE) {
			ranges_add(&managed, s, e);
			set_bits(s, e - s, false);
		} else if (may_become_usable(m->type)) {
			ranges_add(&releasable, s, e);
		}
	}
	set_bits(bitmap_start, need, true);
	stats.managed = ranges_frames(&managed);
	stats.bitmap_frames = need;
	stats.free = stats.managed - need;
	stats.reserve = FRAME_RESERVE_DEFAULT < stats.managed / 8 ? FRAME_RESERVE_DEFAULT
								  : stats.managed / 8;
	spin_unlock(&lock);
	return 0;
}

/* Whether n more frames may go, leaving `keep` free. Lock held. */
static bool may_take(uint64_t n, uint64_t keep)
{
	if (stats.free >= n && stats.free - n >= keep)
		return true;
	if (keep && stats.free >= n)
		stats.reserve_refusals++;
	stats.failures++;
	return false;
}

static uint64_t alloc_one(bool domain)
{
	uint64_t f;

	spin_lock(&lock);
	if (!may_take(1, domain ? stats.reserve : 0)) {
		spin_unlock(&lock);
		return 0;
	}
	/* Next fit, not first fit, so that frames freed just now (a destroyed
	 * domain's code, say) are the last to be handed out again. Why: QEMU's
	 * TCG translates guest code per physical page and treats any later
	 * write to a page it translated code from as self-modifying code,
	 * flushing those translations on the write. First fit would hand a
	 * crashed driver's code frames straight to its replacement, whose image
	 * copy then takes that flush on every page (measured: 4-5 ms of a
	 * 10.8 ms restart for 24 KiB; docs/recovery.md). Harmless on hardware. */
	f = find_bit(next_fit, nframes, false);
	if (f == nframes) {
		f = find_bit(0, next_fit, false);
		if (f == next_fit)
			f = nframes;
	}
	if (f == nframes) {
		stats.failures++;
		spin_unlock(&lock);
		return 0;
	}
	set_bits(f, 1, true);
	next_fit = f + 1 < nframes ? f + 1 : 0;
	stats.free--;
	stats.allocs++;
	spin_unlock(&lock);
	return f << FRAME_SHIFT;
}

uint64_t frame_alloc(void)
{
	return alloc_one(false);
}

uint64_t frame_alloc_domain(void)
{
	return alloc_one(true);
}

/* First run of n free frames on an align boundary in [from, to), or to. Lock held. */
static uint64_t find_run(uint64_t from, uint64_t to, uint64_t n, uint64_t mask)
{
	uint64_t c = (from + mask) & ~mask;
	while (c < to && to - c >= n) {
		uint64_t used = find_bit(c, c + n, true);
		if (used == c + n)
			return c;
		c = (find_bit(used + 1, to, false) + mask) & ~mask;
	}
	return to;
}

static uint64_t alloc_contig(uint64_t n, uint64_t align_frames, bool domain)
{
	uint64_t mask = align_frames - 1;

	if (n == 0 || align_frames == 0 || (align_frames & mask) != 0)
		return 0;
	spin_lock(&lock);
	if (!may_take(n, domain ? stats.reserve : 0)) {
		spin_unlock(&lock);
		return 0;
	}
	/* Next fit, like single frames and for the same reason (TCG's
	 * self-modifying-code flush on frames code was translated from; see
	 * alloc_one). With align_frames <= nframes the rounding in find_run
	 * cannot overflow. */
	uint64_t c = align_frames <= nframes ? find_run(next_fit, nframes, n, mask) : nframes;
	if (c == nframes && align_frames <= nframes) {
		uint64_t end = next_fit + n - 1 < nframes ? next_fit + n - 1 : nframes;
		c = find_run(0, end, n, mask);
		if (c == end)
			c = nframes;
	}
	if (c == nframes) {
		stats.failures++;
		spin_unlock(&lock);
		return 0;
	}
	set_bits(c, n, true);
	next_fit = c + n < nframes ? c + n : 0;
	stats.free -= n;
	stats.allocs++;
	spin_unlock(&lock);
	return c << FRAME_SHIFT;
}

uint64_t frame_alloc_contig(uint64_t n, uint64_t align_frames)
{
	return alloc_contig(n, align_frames, false);
}

uint64_t frame_alloc_contig_domain(uint64_t n, uint64_t align_frames)
{
	return alloc_contig(n, align_frames, true);
}

/*
 * Whether phys is frame-aligned and [phys, phys + n frames) is a run of
 * frames this allocator manages (n not 0): what a caller must name before a
 * free or a claim looks at its bits, so that neither strays outside the
 * bitmap. Called with the lock held.
 */
static bool managed_run(uint64_t phys, uint64_t n)
{
	uint64_t f = phys >> FRAME_SHIFT;
	return (phys & (FRAME_SIZE - 1)) == 0 && n != 0 && f < nframes && n <= nframes - f &&
	       ranges_cover(&managed, f, f + n);
}

int frame_free(uint64_t phys, uint64_t n)
{
	uint64_t f = phys >> FRAME_SHIFT;
	int rc = -1;

	spin_lock(&lock);
	if (managed_run(phys, n) &&
	    (f + n <= bitmap_start || f >= bitmap_start + stats.bitmap_frames) &&
	    find_bit(f, f + n, false) == f + n) {
		set_bits(f, n, false);
		stats.free += n;
		stats.frees++;
		rc = 0;
	}
	spin_unlock(&lock);
	return rc;
}

int frame_claim(uint64_t phys, uint64_t n)
{
	uint64_t f = phys >> FRAME_SHIFT;
	int rc = -1;

	spin_lock(&lock);
	if (managed_run(phys, n) && find_bit(f, f + n, true) == f + n) {
		set_bits(f, n, true);
		stats.free -= n;
		stats.allocs++;
		rc = 0;
	}
	spin_unlock(&lock);
	return rc;
}

uint64_t frame_release_range(uint64_t base, uint64_t length)
{
	uint64_t s, e, added = 0;

	spin_lock(&lock);
	if (!frames_within(base, length, nframes, &s, &e)) {
		spin_unlock(&lock);
		return 0;
	}
	/* Walk the releasable parts of [s, e) and, within them, the frames
	 * not yet managed. */
	for (unsigned i = 0; i < releasable.n; i++) {
		uint64_t rs = releasable.r[i].start > s ? releasable.r[i].start : s;
		uint64_t re = releasable.r[i].end < e ? releasable.r[i].end : e;
		while (rs < re) {
			unsigned k = ranges_after(&managed, rs);
			if (k > 0 && managed.r[k - 1].end > rs) {
				rs = managed.r[k - 1].end;
				continue;
			}
			uint64_t gap_end =
				k < managed.n && managed.r[k].start < re ? managed.r[k].start : re;
			if (!ranges_add(&managed, rs, gap_end))
				goto out;
			set_bits(rs, gap_end - rs, false);
			added += gap_end - rs;
			rs = gap_end;
		}
	}
out:
	stats.managed += added;
	stats.free += added;
	spin_unlock(&lock);
	return added;
}

void frame_get_stats(struct frame_stats *out)
{
	spin_lock(&lock);
	*out = stats;
	spin_unlock(&lock);
}
