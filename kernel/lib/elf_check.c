/*
 * elf_check: validate an ELF64 image completely before any of it is loaded,
 * so the loaders can trust every offset and address afterwards. Each check
 * reports the first problem as one line; "segment N" is the index of the
 * program header (as `readelf -l` lists them). Field meanings are from the
 * System V gABI ("ELF Header", "Program Header", "Dynamic Section") and the
 * x86-64 psABI ("Relocation"). Domains get the extra checks that make a
 * protection-key domain safe to place: see check_domain().
 */
#include <lib/elf.h>
#include <lib/fmt.h>
#include <lib/string.h>

#include <stdbool.h>

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
	return v & ~(ELF_PAGE_SIZE - 1);
}

/* Rounds up without wrapping: the callers have checked v <= 2^64 - ELF_PAGE_SIZE. */
static uint64_t page_up(uint64_t v)
{
	return (v + ELF_PAGE_SIZE - 1) & ~(ELF_PAGE_SIZE - 1);
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
	/* Each page of a domain gets one segment's permissions and key. */
	if (kind == ELF_KIND_DOMAIN && ph->p_align < ELF_PAGE_SIZE)
		return fail(err, "segment %u: alignment 0x%llx is smaller than a page (0x%llx)", n,
			    (unsigned long long)ph->p_align, ELF_PAGE_SIZE);
	if (ph->p_align > 1 && (ph->p_vaddr - ph->p_offset) % ph->p_align != 0)
		return fail(err,
			    "segment %u: address 0x%llx and offset 0x%llx disagree modulo 0x%llx",
			    n, (unsigned long long)ph->p_vaddr, (unsigned long long)ph->p_offset,
			    (unsigned long long)ph->p_align);
	/* Leave a page of headroom so page-rounding the end cannot wrap either. */
	uint64_t limit = UINT64_MAX - ELF_PAGE_SIZE + 1;
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

/* A domain's PT_DYNAMIC, if it has one; `index` is its program header index. */
struct dynamic {
	bool present;
	unsigned index;
	struct elf64_phdr ph;
};

/* Program headers other than PT_LOAD that matter to a domain. */
static int note_domain_phdr(const struct elf64_phdr *ph, unsigned n, struct dynamic *dyn,
			    struct elf_error *err)
{
	if (ph->p_type == PT_INTERP)
		return fail(err, "segment %u: a domain cannot have an interpreter (PT_INTERP)", n);
	if (ph->p_type != PT_DYNAMIC)
		return 0;
	if (dyn->present)
		return fail(err, "segment %u: a second dynamic section (PT_DYNAMIC)", n);
	*dyn = (struct dynamic){.present = true, .index = n, .ph = *ph};
	return 0;
}

/* The DT_RELA table as the dynamic section describes it. */
struct rela_table {
	bool present;
	uint64_t addr, size, entsize;
};

/*
 * One dynamic entry. The kernel resolves nothing and runs no loader code,
 * so anything that needs one (a library, symbol or PLT relocations, REL or
 * RELR tables it would not read) is refused rather than silently ignored.
 */
static int check_dyn_entry(const struct elf64_dyn *d, unsigned long long n, struct rela_table *t,
			   struct elf_error *err)
{
	switch (d->d_tag) {
	case DT_NEEDED:
		return fail(err, "dynamic entry %llu: needs shared library (DT_NEEDED)", n);
	case DT_REL:
		return fail(err, "dynamic entry %llu: REL relocations (DT_REL) are not supported",
			    n);
	case DT_RELR:
		return fail(err,
			    "dynamic entry %llu: packed relocations (DT_RELR) are not supported",
			    n);
	case DT_JMPREL:
		return fail(err,
			    "dynamic entry %llu: PLT relocations (DT_JMPREL) are not supported", n);
	case DT_PLTRELSZ:
		if (d->d_val != 0)
			return fail(err,
				    "dynamic entry %llu: PLT relocations (DT_PLTRELSZ 0x%llx) are "
				    "not supported",
				    n, (unsigned long long)d->d_val);
		break;
	case DT_TEXTREL:
		return fail(err, "dynamic entry %llu: relocations against code (DT_TEXTREL)", n);
	case DT_FLAGS:
		if (d->d_val & DF_TEXTREL)
			return fail(err,
				    "dynamic entry %llu: relocations against code (DF_TEXTREL)", n);
		break;
	case DT_RELA:
		t->present = true;
		t->addr = d->d_val;
		break;
	case DT_RELASZ:
		t->size = d->d_val;
		break;
	case DT_RELAENT:
		t->entsize = d->d_val;
		break;
	}
	return 0;
}

/* Finds the relocation table's file bytes: wholly inside one segment's. */
static int locate_rela(const struct rela_table *t, struct elf_info *info, struct elf_error *err)
{
	if (t->size == 0)
		return 0;
	if (!t->present)
		return fail(err,
			    "relocation table size (DT_RELASZ) given without a table (DT_RELA)");
	if (t->entsize != sizeof(struct elf64_rela))
		return fail(err, "relocation entry size (DT_RELAENT) is %llu, expected %zu",
			    (unsigned long long)t->entsize, sizeof(struct elf64_rela));
	if (t->size % sizeof(struct elf64_rela) != 0)
		return fail(err,
			    "relocation table size (DT_RELASZ) 0x%llx is not a multiple of %zu",
			    (unsigned long long)t->size, sizeof(struct elf64_rela));
	for (unsigned i = 0; i < info->nsegs; i++) {
		const struct elf_segment *s = &info->seg[i];
		if (t->addr >= s->vaddr && t->addr - s->vaddr <= s->filesz &&
		    t->size <= s->filesz - (t->addr - s->vaddr)) {
			info->rela_offset = s->offset + (t->addr - s->vaddr);
			info->rela_count = t->size / sizeof(struct elf64_rela);
			return 0;
		}
	}
	return fail(err, "relocation table 0x%llx+0x%llx is not inside a segment's file bytes",
		    (unsigned long long)t->addr, (unsigned long long)t->size);
}

/* Walks the dynamic section up to DT_NULL; fills info->rela_offset and rela_count. */
static int check_dynamic(const uint8_t *image, size_t size, const struct dynamic *dyn,
			 struct elf_info *info, struct elf_error *err)
{
	const struct elf64_phdr *ph = &dyn->ph;
	struct rela_table table = {0};

	if (!dyn->present)
		return 0;
	if (ph->p_offset > size || ph->p_filesz > size - ph->p_offset)
		return fail(err,
			    "segment %u: dynamic section 0x%llx+0x%llx runs past the end of the "
			    "file (%zu bytes)",
			    dyn->index, (unsigned long long)ph->p_offset,
			    (unsigned long long)ph->p_filesz, size);
	uint64_t count = ph->p_filesz / sizeof(struct elf64_dyn);
	for (uint64_t n = 0;; n++) {
		struct elf64_dyn d;
		if (n == count)
			return fail(err, "segment %u: dynamic section has no DT_NULL terminator",
				    dyn->index);
		memcpy(&d, image + ph->p_offset + n * sizeof(d), sizeof(d));
		if (d.d_tag == DT_NULL)
			break;
		if (check_dyn_entry(&d, n, &table, err))
			return -1;
	}
	return locate_rela(&table, info, err);
}

struct elf64_rela elf_rela(const void *file, const struct elf_info *info, uint64_t i)
{
	struct elf64_rela r;
	memcpy(&r, (const uint8_t *)file + info->rela_offset + i * sizeof(r), sizeof(r));
	return r;
}

/* Whether the 8 bytes at `addr` lie inside one writable segment's memory. */
static bool in_writable_segment(const struct elf_info *info, uint64_t addr)
{
	for (unsigned i = 0; i < info->nsegs; i++) {
		const struct elf_segment *s = &info->seg[i];
		if ((s->flags & PF_W) && s->memsz >= 8 && addr >= s->vaddr &&
		    addr - s->vaddr <= s->memsz - 8)
			return true;
	}
	return false;
}

/*
 * Only RELATIVE (B + A into 8 bytes) needs no symbols. Its target must be
 * writable: W^X keeps code out of writable segments, so no relocation can
 * change an instruction after check_code() has looked at it.
 */
static int check_relocations(const void *image, const struct elf_info *info, struct elf_error *err)
{
	for (uint64_t i = 0; i < info->rela_count; i++) {
		struct elf64_rela r = elf_rela(image, info, i);
		uint32_t type = ELF64_R_TYPE(r.r_info);
		if (type == R_X86_64_NONE)
			continue;
		if (type != R_X86_64_RELATIVE)
			return fail(err,
				    "relocation %llu has unsupported type %u (only "
				    "R_X86_64_RELATIVE and R_X86_64_NONE)",
				    (unsigned long long)i, type);
		if (!in_writable_segment(info, r.r_offset))
			return fail(
				err,
				"relocation %llu (R_X86_64_RELATIVE) at 0x%llx does not patch 8 "
				"bytes of a writable segment",
				(unsigned long long)i, (unsigned long long)r.r_offset);
	}
	return 0;
}

/*
 * ERIM's rule (Vahldiek-Oberwagner et al., USENIX Security 2019): code that
 * runs under a protection key must not be able to write PKRU, and since a
 * jump may land anywhere, not even in the middle of another instruction or
 * in data that happens to sit in an executable segment. Given the bytes
 * after a 0F escape, returns the instruction they start, or NULL:
 *
 * - WRPKRU is 0F 01 EF (SDM Vol. 2B, WRPKRU).
 * - XRSTOR is 0F AE /5 with a memory operand, ModRM.mod != 3 (SDM Vol. 2B,
 *   XRSTOR); it loads PKRU from a save area the domain writes whenever
 *   XCR0 enables the PKRU component (bit 9). With mod = 3 the same /5 is
 *   LFENCE (0F AE E8..EF), which must stay usable.
 * - XRSTORS is 0F C7 /3 with a memory operand (SDM Vol. 2B, XRSTORS). It
 *   faults outside ring 0, so a ring-3 domain could not use it today; it
 *   is refused anyway so the rule does not rest on where domains run.
 * - WRFSBASE and WRGSBASE are F3 (REX.W) 0F AE /2 and /3 with mod = 3 (SDM
 *   Vol. 2B, WRFSBASE/WRGSBASE). The gate finds the thread's GATE_RO page,
 *   and so the expected-PKRU word it checks after each WRPKRU, through %gs
 *   (gate.S, "THE INVARIANT"): a domain that set its own GS base could make
 *   that check pass for rights it chose. On the pc platform CR4.FSGSBASE is
 *   off and both fault; Linux turns FSGSBASE on for every process
 *   (AT_HWCAP2 bit 1), so under maple-hosted they would run, and FS there
 *   is the runtime's thread pointer, which its signal handlers trust. The
 *   same prefix argument as below holds: the bare three bytes are refused.
 *   0F AE with mod = 3 and reg 2 or 3 is nothing else without the prefix.
 *
 * Prefixes need no care. XRSTOR64 and XRSTORS64 are REX.W in front of the
 * same three bytes; REX.R does not extend the reg field of a /digit opcode
 * (SDM Vol. 2A 2.2.1.2), so no prefix turns another ModRM into /5 or /3,
 * and whatever precedes the three bytes, a jump can skip it. Refusing the
 * bare sequence therefore covers every prefixed form, at the cost of also
 * refusing prefixed encodings that would have meant something harmless.
 */
const char *elf_forbidden_at(uint8_t opcode, uint8_t modrm)
{
	bool memory = (modrm >> 6) != 3;
	unsigned reg = (modrm >> 3) & 7;

	if (opcode == 0x01 && modrm == 0xef)
		return "WRPKRU";
	if (opcode == 0xae && memory && reg == 5)
		return "XRSTOR";
	if (opcode == 0xae && !memory && reg == 2)
		return "WRFSBASE";
	if (opcode == 0xae && !memory && reg == 3)
		return "WRGSBASE";
	if (opcode == 0xc7 && memory && reg == 3)
		return "XRSTORS";
	return NULL;
}

/*
 * The executable segment that follows segment i directly in memory, or -1.
 * Zero fill after a segment's file bytes breaks any sequence (no forbidden
 * byte is 00), so only a segment whose file bytes reach its end can have
 * an instruction run on into the next.
 */
static int exec_successor(const struct elf_info *info, int i)
{
	const struct elf_segment *s = &info->seg[i];
	if (s->filesz != s->memsz)
		return -1;
	for (unsigned j = 0; j < info->nsegs; j++) {
		const struct elf_segment *t = &info->seg[j];
		if ((t->flags & PF_X) && t->memsz != 0 && t->vaddr == s->vaddr + s->memsz)
			return (int)j;
	}
	return -1;
}

/* Byte `off` of executable memory from segment i's start on, or -1 where none is. */
static int exec_byte(const uint8_t *image, const struct elf_info *info, int i, uint64_t off)
{
	while (i >= 0 && off >= info->seg[i].filesz) {
		off -= info->seg[i].filesz;
		i = exec_successor(info, i);
	}
	return i < 0 ? -1 : image[info->seg[i].offset + off];
}

/* Scans every byte offset of every executable segment; reports the first hit. */
static int check_code(const uint8_t *image, const struct elf_info *info, const unsigned *index,
		      struct elf_error *err)
{
	for (unsigned i = 0; i < info->nsegs; i++) {
		const struct elf_segment *s = &info->seg[i];
		if (!(s->flags & PF_X))
			continue;
		for (uint64_t off = 0; off < s->filesz; off++) {
			if (image[s->offset + off] != 0x0f)
				continue;
			int opcode = exec_byte(image, info, (int)i, off + 1);
			int modrm = exec_byte(image, info, (int)i, off + 2);
			const char *name =
				opcode < 0 || modrm < 0 ? NULL : elf_forbidden_at(opcode, modrm);
			if (name)
				return fail(
					err,
					"forbidden instruction %s (0f %02x %02x) at file offset "
					"0x%llx (segment %u)",
					name, opcode, modrm, (unsigned long long)(s->offset + off),
					index[i]);
		}
	}
	return 0;
}

/*
 * What a domain needs beyond the common checks: it shares one address
 * space with every other domain, the kernel relocates it without looking
 * up a symbol, and its code must have no way to change its own key rights.
 */
static int check_domain(const uint8_t *image, size_t size, const struct dynamic *dyn,
			struct elf_info *info, const unsigned *index, struct elf_error *err)
{
	uint64_t span = info->span_hi - info->span_lo;
	if (span > ELF_DOMAIN_SPAN_MAX)
		return fail(err, "image spans 0x%llx bytes, more than a domain's 0x%llx",
			    (unsigned long long)span, ELF_DOMAIN_SPAN_MAX);
	if (check_dynamic(image, size, dyn, info, err) || check_relocations(image, info, err))
		return -1;
	return check_code(image, info, index, err);
}

int elf_check(const void *image, size_t size, enum elf_kind kind, struct elf_info *info,
	      struct elf_error *err)
{
	struct elf64_ehdr eh;
	unsigned index[ELF_MAX_SEGMENTS]; /* program header index of each info->seg */
	struct dynamic dyn = {0};

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
		if (kind == ELF_KIND_DOMAIN && note_domain_phdr(&ph, n, &dyn, err))
			return -1;
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
	info->span_lo = UINT64_MAX;
	for (unsigned i = 0; i < info->nsegs; i++) {
		const struct elf_segment *s = &info->seg[i];
		if (s->paddr < info->paddr_lo)
			info->paddr_lo = s->paddr;
		if (s->paddr + s->memsz > info->paddr_hi)
			info->paddr_hi = s->paddr + s->memsz;
		if (s->memsz == 0) /* occupies no memory, wherever it claims to be */
			continue;
		if (page_down(s->vaddr) < info->span_lo)
			info->span_lo = page_down(s->vaddr);
		if (page_up(s->vaddr + s->memsz) > info->span_hi)
			info->span_hi = page_up(s->vaddr + s->memsz);
	}
	if (kind == ELF_KIND_DOMAIN)
		return check_domain(image, size, &dyn, info, index, err);
	return 0;
}
