/*
 * Building a struct bootinfo: the memory map carve that turns overlapping
 * firmware descriptions into one sorted, non-overlapping map, plus the module
 * table and command line. Shared by efi-loader, the multiboot path and the
 * host tests, so it never allocates and keeps temporaries off the stack.
 *
 * A carve of [b, e) with type t runs in two phases over the array itself:
 *   1. drop or trim every entry of lower precedence than t where it meets
 *      [b, e) (the count can only shrink);
 *   2. fill the holes this leaves inside [b, e) with t, first those that
 *      extend or join a touching entry of type t, then those that need a
 *      new entry (so the count rises monotonically to its final value).
 * The final count is computed before anything is written, so a carve that
 * would not fit leaves the map untouched. The one case the phases cannot
 * express, a lower entry strictly containing [b, e), is a plain split.
 */
#include <lib/string.h>
#include <maple/bootinfo.h>

#include <stdbool.h>

static uint64_t mem_end(const struct bootinfo_mem *m)
{
	return m->base + m->length;
}

static void mem_insert(struct bootinfo *bi, uint32_t i, uint64_t base, uint64_t end, uint32_t type)
{
	memmove(&bi->mem[i + 1], &bi->mem[i], (bi->mem_count - i) * sizeof(bi->mem[0]));
	bi->mem[i] = (struct bootinfo_mem){.base = base, .length = end - base, .type = type};
	bi->mem_count++;
}

static void mem_remove(struct bootinfo *bi, uint32_t i)
{
	bi->mem_count--;
	memmove(&bi->mem[i], &bi->mem[i + 1], (bi->mem_count - i) * sizeof(bi->mem[0]));
}

/*
 * Phase 1 applied to one entry: returns false when the entry disappears,
 * else true with *out set to what is left of it.
 */
static bool phase1_entry(const struct bootinfo_mem *m, uint64_t b, uint64_t e, uint32_t t,
			 struct bootinfo_mem *out)
{
	*out = *m;
	if (m->type >= t || mem_end(m) <= b || m->base >= e)
		return true;
	if (m->base >= b && mem_end(m) <= e)
		return false;
	if (m->base < b)
		out->length = b - m->base;
	else
		*out = (struct bootinfo_mem){.base = e, .length = mem_end(m) - e, .type = m->type};
	return true;
}

/*
 * How many entries filling the hole [gs, ge) adds, given its neighbours
 * after phase 1 (either may be NULL): 1 for a new entry, 0 for extending a
 * touching entry of type t, -1 for joining two of them.
 */
static int hole_delta(const struct bootinfo_mem *prev, const struct bootinfo_mem *next, uint64_t gs,
		      uint64_t ge, uint32_t t)
{
	int d = 1;
	if (prev && mem_end(prev) == gs && prev->type == t)
		d--;
	if (next && next->base == ge && next->type == t)
		d--;
	return d;
}

/* The entry count after carving, computed on a virtual phase-1 map. */
static uint32_t carved_count(const struct bootinfo *bi, uint64_t b, uint64_t e, uint32_t t)
{
	struct bootinfo_mem prev, cur;
	bool have_prev = false;
	int64_t count = 0;

	for (uint32_t i = 0; i < bi->mem_count; i++) {
		if (!phase1_entry(&bi->mem[i], b, e, t, &cur))
			continue;
		count++;
		uint64_t gs = have_prev && mem_end(&prev) > b ? mem_end(&prev) : b;
		uint64_t ge = cur.base < e ? cur.base : e;
		if (gs < ge)
			count += hole_delta(have_prev ? &prev : NULL, &cur, gs, ge, t);
		prev = cur;
		have_prev = true;
	}
	uint64_t gs = have_prev && mem_end(&prev) > b ? mem_end(&prev) : b;
	if (gs < e)
		count += hole_delta(have_prev ? &prev : NULL, NULL, gs, e, t);
	return (uint32_t)count;
}

static void phase1(struct bootinfo *bi, uint64_t b, uint64_t e, uint32_t t)
{
	uint32_t out = 0;
	for (uint32_t i = 0; i < bi->mem_count; i++)
		if (phase1_entry(&bi->mem[i], b, e, t, &bi->mem[out]))
			out++;
	bi->mem_count = out;
}

/*
 * Walk the holes left in [b, e) and fill them with t: those that touch an
 * entry of type t always, the others only when `insert` is set.
 */
static void fill_holes(struct bootinfo *bi, uint64_t b, uint64_t e, uint32_t t, bool insert)
{
	uint32_t i = 0;
	uint64_t pos = b;

	while (i < bi->mem_count && mem_end(&bi->mem[i]) <= b)
		i++;
	while (pos < e) {
		struct bootinfo_mem *prev = i > 0 ? &bi->mem[i - 1] : NULL;
		struct bootinfo_mem *next = i < bi->mem_count ? &bi->mem[i] : NULL;
		if (next && next->base <= pos) {
			pos = mem_end(next);
			i++;
			continue;
		}
		uint64_t ge = next && next->base < e ? next->base : e;
		int d = hole_delta(prev, next && next->base == ge ? next : NULL, pos, ge, t);
		if (d < 0) {
			prev->length = mem_end(next) - prev->base;
			mem_remove(bi, i);
			pos = mem_end(prev);
		} else if (d == 0 && prev && mem_end(prev) == pos && prev->type == t) {
			prev->length += ge - pos;
			pos = ge;
		} else if (d == 0) {
			next->length += next->base - pos;
			next->base = pos;
			pos = mem_end(next);
			i++;
		} else {
			if (insert) {
				mem_insert(bi, i, pos, ge, t);
				i++;
			}
			pos = ge;
		}
	}
}

void bootinfo_init(struct bootinfo *bi, uint32_t firmware)
{
	memset(bi, 0, sizeof(*bi));
	bi->magic = BOOTINFO_MAGIC;
	bi->version = BOOTINFO_VERSION;
	bi->firmware = firmware;
}

int bootinfo_mem_carve(struct bootinfo *bi, uint64_t base, uint64_t length, uint32_t type)
{
	/* The map cannot describe the last byte of the address space; clip to it. */
	uint64_t end = length > UINT64_MAX - base ? UINT64_MAX : base + length;
	if (base >= end)
		return 0;

	for (uint32_t i = 0; i < bi->mem_count; i++) {
		struct bootinfo_mem *m = &bi->mem[i];
		if (m->base < base && mem_end(m) > end && m->type < type) {
			if (bi->mem_count + 2 > BOOTINFO_MAX_MEM)
				return -1;
			uint64_t old_end = mem_end(m);
			m->length = base - m->base;
			mem_insert(bi, i + 1, base, end, type);
			mem_insert(bi, i + 2, end, old_end, m->type);
			return 0;
		}
	}

	if (carved_count(bi, base, end, type) > BOOTINFO_MAX_MEM)
		return -1;
	phase1(bi, base, end, type);
	fill_holes(bi, base, end, type, false);
	fill_holes(bi, base, end, type, true);
	return 0;
}

int bootinfo_add_module(struct bootinfo *bi, const char *name, uint64_t base, uint64_t size)
{
	if (bi->module_count >= BOOTINFO_MAX_MODULES)
		return -1;
	struct bootinfo_module *m = &bi->modules[bi->module_count++];
	m->base = base;
	m->size = size;
	strlcpy(m->name, name, sizeof(m->name));
	return 0;
}

void bootinfo_set_cmdline(struct bootinfo *bi, const char *cmdline)
{
	strlcpy(bi->cmdline, cmdline, sizeof(bi->cmdline));
}

const char *bootinfo_mem_type_name(uint32_t type)
{
	switch (type) {
	case BOOTINFO_MEM_USABLE:
		return "usable";
	case BOOTINFO_MEM_ACPI_RECLAIM:
		return "acpi-reclaim";
	case BOOTINFO_MEM_LOADER:
		return "loader";
	case BOOTINFO_MEM_KERNEL:
		return "kernel";
	case BOOTINFO_MEM_ACPI_NVS:
		return "acpi-nvs";
	case BOOTINFO_MEM_RESERVED:
		return "reserved";
	case BOOTINFO_MEM_BAD:
		return "bad";
	default:
		return "unknown";
	}
}
