/*
 * elf_reloc: put a domain image that elf_check accepted into memory at the
 * base the kernel chose: copy its segments into a zeroed span, then apply
 * its R_X86_64_RELATIVE relocations. Portable; the kernel maps the result
 * and host tests run it directly.
 */
#include <lib/elf.h>
#include <lib/fmt.h>
#include <lib/string.h>

void elf_copy_image(const void *file, const struct elf_info *info, uint8_t *loaded)
{
	/*
	 * Zeroing the whole span first is what elf_check's instruction scan
	 * relies on: executable pages hold nothing but file bytes and zeros.
	 */
	memset(loaded, 0, info->span_hi - info->span_lo);
	for (unsigned i = 0; i < info->nsegs; i++) {
		const struct elf_segment *s = &info->seg[i];
		if (s->memsz != 0)
			memcpy(loaded + (s->vaddr - info->span_lo),
			       (const uint8_t *)file + s->offset, s->filesz);
	}
}

/*
 * THE INVARIANT (the ERIM rule's other half): no byte of an image is
 * executable unless elf_check's scan read it, and it reads only executable
 * segments' file bytes. So a page gets rights only from the one segment
 * whose memory covers it (elf_check refuses two non-empty segments sharing
 * a page). A segment with no memory (p_memsz 0) covers nothing, wherever
 * it claims to be, as elf_check's span and page-sharing checks already
 * take it: listed first at an address inside a data page, it made that
 * page's unscanned bytes executable (a WRPKRU there, rogue case 480).
 */
uint32_t elf_page_flags(const struct elf_info *info, uint64_t va)
{
	for (unsigned k = 0; k < info->nsegs; k++) {
		const struct elf_segment *s = &info->seg[k];
		if (s->memsz == 0)
			continue;
		uint64_t lo = s->vaddr & ~(ELF_PAGE_SIZE - 1), hi = s->vaddr + s->memsz;
		if (va >= lo && va < hi)
			return s->flags & (PF_W | PF_X);
	}
	return 0;
}

int elf_apply_relocations(const void *file, const struct elf_info *info, uint8_t *loaded,
			  uint64_t load_base, struct elf_error *err)
{
	uint64_t span = info->span_hi - info->span_lo;

	err->msg[0] = '\0';
	if (load_base % ELF_PAGE_SIZE != 0) {
		fmt_snprintf(err->msg, sizeof(err->msg), "load base 0x%llx is not page-aligned",
			     (unsigned long long)load_base);
		return -1;
	}
	if (load_base > UINT64_MAX - span + 1) {
		fmt_snprintf(err->msg, sizeof(err->msg),
			     "image of 0x%llx bytes at 0x%llx wraps around the address space",
			     (unsigned long long)span, (unsigned long long)load_base);
		return -1;
	}
	/* psABI "Relocation Types": B is where link address 0 ends up; arithmetic is mod 2^64. */
	uint64_t b = load_base - info->span_lo;
	for (uint64_t i = 0; i < info->rela_count; i++) {
		struct elf64_rela r = elf_rela(file, info, i);
		if (ELF64_R_TYPE(r.r_info) != R_X86_64_RELATIVE)
			continue; /* elf_check allowed only R_X86_64_NONE besides */
		uint64_t value = b + (uint64_t)r.r_addend;
		memcpy(loaded + (r.r_offset - info->span_lo), &value, sizeof(value));
	}
	return 0;
}
