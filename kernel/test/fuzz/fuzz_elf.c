/*
 * libFuzzer target for the parsers in kernel/lib that read domain and
 * kernel images: elf_check for both kinds; for an image it accepts as a
 * domain, elf_copy_image and elf_apply_relocations into a span of the size
 * it promised; and elf_symbolize on every input. Built with ASan and UBSan,
 * every report fatal (tools/configure), so an out-of-bounds or misaligned
 * read is a crash; run briefly by ci/test (ci/groups/fuzz.py) and at length
 * by tools/fuzz-elf.
 */
#include <lib/elf.h>
#include <stdlib.h>
#include <string.h>
#include <test/fuzz/check_line.h>

/* Domains spanning more are checked but not placed: the allocation would dominate each run. */
#define PLACE_LIMIT (16ULL << 20)
#define LOAD_BASE   0x10000000000ULL /* a page-aligned base, as the kernel picks */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void symbolize(const uint8_t *f, size_t size, uint64_t addr)
{
	char out[64];
	elf_symbolize(f, size, addr, out, sizeof(out));
	fuzz_check_line(out, sizeof(out));
}

static void place_domain(const uint8_t *f, const struct elf_info *info)
{
	struct elf_error err;
	uint64_t span = info->span_hi - info->span_lo;
	if (span > PLACE_LIMIT)
		return;
	uint8_t *loaded = malloc(span ? span : 1);
	if (!loaded)
		abort();
	elf_copy_image(f, info, loaded);
	/* elf_check promised these succeed: only a bad base may fail. */
	if (elf_apply_relocations(f, info, loaded, LOAD_BASE, &err) != 0)
		abort();
	free(loaded);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/*
	 * One byte past a malloc'd start, so the image sits at an odd address:
	 * every parser must copy fields out, never read through a cast.
	 */
	uint8_t *buf = malloc(size + 1);
	if (!buf)
		abort();
	uint8_t *f = buf + 1;
	memcpy(f, data, size);

	struct elf_info info;
	struct elf_error err;
	if (elf_check(f, size, ELF_KIND_KERNEL, &info, &err) == 0)
		symbolize(f, size, info.entry);
	else
		fuzz_check_line(err.msg, sizeof(err.msg));
	if (elf_check(f, size, ELF_KIND_DOMAIN, &info, &err) == 0) {
		place_domain(f, &info);
		symbolize(f, size, info.entry + 1);
	} else {
		fuzz_check_line(err.msg, sizeof(err.msg));
	}
	/* The symbolizer also gets images neither check accepts (fault reports do not). */
	uint64_t entry = 0;
	if (size >= sizeof(struct elf64_ehdr))
		memcpy(&entry, f + offsetof(struct elf64_ehdr, e_entry), sizeof(entry));
	symbolize(f, size, entry);
	symbolize(f, size, UINT64_MAX);
	free(buf);
	return 0;
}
