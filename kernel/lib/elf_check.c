/*
 * elf_check: validate an ELF64 image completely before any of it is loaded,
 * so the loaders can trust every offset and address afterwards. Each check
 * reports the first problem as one line; "segment N" is the index of the
 * program header (as `readelf -l` lists them). Field meanings are from the
 * System V gABI ("ELF Header", "Program Header") and the x86-64 psABI.
 */
#include <maple/elf.h>
#include <maple/fmt.h>
#include <maple/string.h>

#include <stdbool.h>

#define PAGE_SIZE	  4096ULL
#define KERNEL_PHYS_MIN	  0x100000ULL	 /* below 1 MiB: real-mode and firmware areas */
#define KERNEL_PHYS_LIMIT 0x100000000ULL /* the kernel's early page tables stop at 4 GiB */

static const uint8_t elf_magic[4] = {0x7f, 'E', 'L', 'F'};

static int fail(struct elf_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct elf_error *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static bool is_pow2(uint64_t v)
{
	return (v & (v - 1)) == 0;
}

/* Half-open ranges [a, a+alen) and [b, b+blen); callers ensure no wraparound. */
static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static uint64_t page_down(uint64_t v)
{
	return v & ~(PAGE_SIZE - 1);
}

/* Rounds up without wrapping: the callers have checked v <= 2^64 - PAGE_SIZE. */
static uint64_t page_up(uint64_t v)
{
	return (v + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
}

static int check_ident(const struct elf64_ehdr *eh, enum elf_kind kind, struct elf_error *err)
{
	if (memcmp(eh->e_ident, elf_magic, sizeof(elf_magic)) != 0)
		return fail(err, "bad ELF magic (not an ELF file)");
	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return fail(err, "not a 64-bit ELF file (class %u)", eh->e_ident[EI_CLASS]);
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return fail(err, "not a little-endian ELF file (data encoding %u)",
			    eh->e_ident[EI_DATA]);
	if (eh->e_ident[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT)
		return fail(err, "unsupported ELF version %u/%u", eh->e_ident[EI_VERSION],
			    eh->e_version);
	if (eh->e_machine != EM_X86_64)
		return fail(err, "not an x86-64 image (machine %u)", eh->e_machine);
	if (kind == ELF_KIND_KERNEL && eh->e_type != ET_EXEC)
		return fail(err, "not an executable (ET_EXEC) image (type %u)", eh->e_type);
	if (kind == ELF_KIND_DOMAIN && eh->e_type != ET_DYN)
		return fail(err, "not a position-independent (ET_DYN) image (type %u)", eh->e_type);
	if (kind != ELF_KIND_KERNEL && kind != ELF_KIND_DOMAIN)
		return fail(err, "unknown image kind %d", (int)kind);
	return 0;
}

/* Checks one PT_LOAD on its own; `n` is its program header index. */
static int check_segment(const struct elf64_phdr *ph, unsigned n, size_t size, enum elf_kind kind,
			 struct elf_error *err)
{
	if (ph->p_offset > size || ph->p_filesz > size - ph->p_offset)
		return fail(err,
			    "segment %u: file bytes 0x%llx+0x%llx run past the end of the file "
			    "(%zu bytes)",
			    n, (unsigned long long)ph->p_offset, (unsigned long long)ph->p_filesz,
			    size);
	if (ph->p_filesz > ph->p_memsz)
		return fail(err, "segment %u: file size 0x%llx exceeds memory size 0x%llx", n,
			    (unsigned long long)ph->p_filesz, (unsigned long long)ph->p_memsz);
	if (ph->p_align > 1 && !is_pow2(ph->p_align))
		return fail(err, "segment %u: alignment 0x%llx is not a power of two", n,
			    (unsigned long long)ph->p_align);
	if (ph->p_align > 1 && (ph->p_vaddr - ph->p_offset) % ph->p_align != 0)
		return fail(err,
			    "segment %u: address 0x%llx and offset 0x%llx disagree modulo 0x%llx",
			    n, (unsigned long long)ph->p_vaddr, (unsigned long long)ph->p_offset,
			    (unsigned long long)ph->p_align);
	/* Leave a page of headroom so page-rounding the end cannot wrap either. */
	uint64_t limit = UINT64_MAX - PAGE_SIZE + 1;
	if (ph->p_vaddr > limit || ph->p_memsz > limit - ph->p_vaddr)
		return fail(err, "segment %u: virtual range 0x%llx+0x%llx wraps around", n,
			    (unsigned long long)ph->p_vaddr, (unsigned long long)ph->p_memsz);
	if (kind == ELF_KIND_KERNEL && (ph->p_paddr > limit || ph->p_memsz > limit - ph->p_paddr))
		return fail(err, "segment %u: physical range 0x%llx+0x%llx wraps around", n,
			    (unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz);
	if ((ph->p_flags & (PF_W | PF_X)) == (PF_W | PF_X))
		return fail(err, "segment %u is both writable and executable", n);
	if (kind == ELF_KIND_KERNEL &&
	    (ph->p_paddr < KERNEL_PHYS_MIN || ph->p_paddr + ph->p_memsz > KERNEL_PHYS_LIMIT))
		return fail(err,
			    "segment %u: physical range 0x%llx-0x%llx is outside [1 MiB, 4 GiB)", n,
			    (unsigned long long)ph->p_paddr,
			    (unsigned long long)(ph->p_paddr + ph->p_memsz));
	return 0;
}

/*
 * Segments are loaded (kernel: physically) or mapped (domain: virtually) in
 * whole pages, so two of them may not even share a page.
 */
static int check_overlap(const struct elf_info *info, const unsigned *index, enum elf_kind kind,
			 struct elf_error *err)
{
	const char *space = kind == ELF_KIND_KERNEL ? "physical" : "virtual";
	for (unsigned i = 0; i < info->nsegs; i++) {
		const struct elf_segment *a = &info->seg[i];
		uint64_t abase = kind == ELF_KIND_KERNEL ? a->paddr : a->vaddr;
		if (a->memsz == 0)
			continue;
		for (unsigned j = 0; j < i; j++) {
			const struct elf_segment *b = &info->seg[j];
			uint64_t bbase = kind == ELF_KIND_KERNEL ? b->paddr : b->vaddr;
			if (b->memsz == 0)
				continue;
			if (ranges_overlap(abase, a->memsz, bbase, b->memsz))
				return fail(err, "segment %u overlaps segment %u (%s)", index[i],
					    index[j], space);
			uint64_t apage = page_down(abase), bpage = page_down(bbase);
			if (ranges_overlap(apage, page_up(abase + a->memsz) - apage, bpage,
					   page_up(bbase + b->memsz) - bpage))
				return fail(err, "segment %u shares a %s page with segment %u",
					    index[i], space, index[j]);
		}
	}
	return 0;
}

static int check_entry(const struct elf64_ehdr *eh, struct elf_info *info, struct elf_error *err)
{
	for (unsigned i = 0; i < info->nsegs; i++) {
		const struct elf_segment *s = &info->seg[i];
		if ((s->flags & PF_X) && eh->e_entry >= s->vaddr &&
		    eh->e_entry - s->vaddr < s->filesz) {
			info->entry = eh->e_entry;
			info->entry_paddr = s->paddr + (eh->e_entry - s->vaddr);
			return 0;
		}
	}
	return fail(err, "entry point 0x%llx is not inside an executable segment",
		    (unsigned long long)eh->e_entry);
}

int elf_check(const void *image, size_t size, enum elf_kind kind, struct elf_info *info,
	      struct elf_error *err)
{
	struct elf64_ehdr eh;
	unsigned index[ELF_MAX_SEGMENTS]; /* program header index of each info->seg */

	memset(info, 0, sizeof(*info));
	err->msg[0] = '\0';
	if (size < sizeof(eh))
		return fail(err, "file too small for an ELF header (%zu bytes)", size);
	/* Copies, not casts: the image may sit at any alignment. */
	memcpy(&eh, image, sizeof(eh));
	if (check_ident(&eh, kind, err))
		return -1;
	if (eh.e_phentsize != sizeof(struct elf64_phdr))
		return fail(err, "program header size %u, expected %zu", eh.e_phentsize,
			    sizeof(struct elf64_phdr));
	uint64_t table = (uint64_t)eh.e_phnum * sizeof(struct elf64_phdr);
	if (eh.e_phoff > size || table > size - eh.e_phoff)
		return fail(err,
			    "program header table (offset 0x%llx, %u entries) runs past the end of "
			    "the file (%zu bytes)",
			    (unsigned long long)eh.e_phoff, eh.e_phnum, size);

	for (unsigned n = 0; n < eh.e_phnum; n++) {
		struct elf64_phdr ph;
		memcpy(&ph, (const uint8_t *)image + eh.e_phoff + n * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		if (info->nsegs == ELF_MAX_SEGMENTS)
			return fail(err, "more than %u loadable segments", ELF_MAX_SEGMENTS);
		if (check_segment(&ph, n, size, kind, err))
			return -1;
		index[info->nsegs] = n;
		info->seg[info->nsegs++] = (struct elf_segment){
			.offset = ph.p_offset,
			.vaddr = ph.p_vaddr,
			.paddr = ph.p_paddr,
			.filesz = ph.p_filesz,
			.memsz = ph.p_memsz,
			.flags = ph.p_flags,
		};
	}
	if (info->nsegs == 0)
		return fail(err, "no loadable segment");
	if (check_overlap(info, index, kind, err) || check_entry(&eh, info, err))
		return -1;

	info->paddr_lo = UINT64_MAX;
	for (unsigned i = 0; i < info->nsegs; i++) {
		const struct elf_segment *s = &info->seg[i];
		if (s->paddr < info->paddr_lo)
			info->paddr_lo = s->paddr;
		if (s->paddr + s->memsz > info->paddr_hi)
			info->paddr_hi = s->paddr + s->memsz;
	}
	return 0;
}
