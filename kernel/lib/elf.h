/*
 * ELF64 layouts (System V gABI and the x86-64 psABI) and the portable image
 * checker shared by efi-loader (the kernel image) and the kernel's domain
 * loader. The checker validates everything before a single byte is mapped.
 */
#ifndef MAPLE_ELF_H
#define MAPLE_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EI_NIDENT    16
#define EI_CLASS     4
#define EI_DATA	     5
#define EI_VERSION   6
#define ELFCLASS64   2
#define ELFDATA2LSB  1
#define EV_CURRENT   1
#define ET_EXEC	     2
#define ET_DYN	     3
#define EM_X86_64    62
#define PT_NULL	     0
#define PT_LOAD	     1
#define PT_DYNAMIC   2
#define PT_INTERP    3
#define PT_NOTE	     4
#define PT_PHDR	     6
#define PT_TLS	     7
#define PT_GNU_STACK 0x6474e551
#define PT_GNU_RELRO 0x6474e552
#define PF_X	     0x1
#define PF_W	     0x2
#define PF_R	     0x4
#define SHT_SYMTAB   2
#define SHT_STRTAB   3

/* Dynamic section tags (gABI "Dynamic Section") and the DT_FLAGS bit. */
#define DT_NULL	    0
#define DT_NEEDED   1
#define DT_PLTRELSZ 2
#define DT_RELA	    7
#define DT_RELASZ   8
#define DT_RELAENT  9
#define DT_REL	    17
#define DT_TEXTREL  22
#define DT_JMPREL   23
#define DT_FLAGS    30
#define DT_RELR	    36
#define DF_TEXTREL  0x4

/* x86-64 psABI relocation types; a domain may carry only these two. */
#define R_X86_64_NONE	  0
#define R_X86_64_RELATIVE 8

struct elf64_ehdr {
	uint8_t e_ident[EI_NIDENT];
	uint16_t e_type;
	uint16_t e_machine;
	uint32_t e_version;
	uint64_t e_entry;
	uint64_t e_phoff;
	uint64_t e_shoff;
	uint32_t e_flags;
	uint16_t e_ehsize;
	uint16_t e_phentsize;
	uint16_t e_phnum;
	uint16_t e_shentsize;
	uint16_t e_shnum;
	uint16_t e_shstrndx;
};
_Static_assert(offsetof(struct elf64_ehdr, e_type) == 16, "layout");
_Static_assert(offsetof(struct elf64_ehdr, e_machine) == 18, "layout");
_Static_assert(offsetof(struct elf64_ehdr, e_entry) == 24, "layout");
_Static_assert(offsetof(struct elf64_ehdr, e_phoff) == 32, "layout");
_Static_assert(offsetof(struct elf64_ehdr, e_shoff) == 40, "layout");
_Static_assert(offsetof(struct elf64_ehdr, e_phentsize) == 54, "layout");
_Static_assert(offsetof(struct elf64_ehdr, e_phnum) == 56, "layout");
_Static_assert(offsetof(struct elf64_ehdr, e_shstrndx) == 62, "layout");
_Static_assert(sizeof(struct elf64_ehdr) == 64, "layout");

struct elf64_phdr {
	uint32_t p_type;
	uint32_t p_flags;
	uint64_t p_offset;
	uint64_t p_vaddr;
	uint64_t p_paddr;
	uint64_t p_filesz;
	uint64_t p_memsz;
	uint64_t p_align;
};
_Static_assert(offsetof(struct elf64_phdr, p_flags) == 4, "layout");
_Static_assert(offsetof(struct elf64_phdr, p_offset) == 8, "layout");
_Static_assert(offsetof(struct elf64_phdr, p_vaddr) == 16, "layout");
_Static_assert(offsetof(struct elf64_phdr, p_paddr) == 24, "layout");
_Static_assert(offsetof(struct elf64_phdr, p_filesz) == 32, "layout");
_Static_assert(offsetof(struct elf64_phdr, p_memsz) == 40, "layout");
_Static_assert(offsetof(struct elf64_phdr, p_align) == 48, "layout");
_Static_assert(sizeof(struct elf64_phdr) == 56, "layout");

struct elf64_dyn {
	int64_t d_tag;
	uint64_t d_val; /* d_un: a value or an address, as the tag says */
};
_Static_assert(offsetof(struct elf64_dyn, d_val) == 8, "layout");
_Static_assert(sizeof(struct elf64_dyn) == 16, "layout");

struct elf64_rela {
	uint64_t r_offset;
	uint64_t r_info; /* symbol index << 32 | type */
	int64_t r_addend;
};
_Static_assert(offsetof(struct elf64_rela, r_info) == 8, "layout");
_Static_assert(offsetof(struct elf64_rela, r_addend) == 16, "layout");
_Static_assert(sizeof(struct elf64_rela) == 24, "layout");

#define ELF64_R_TYPE(info) ((uint32_t)(info))

struct elf64_shdr {
	uint32_t sh_name;
	uint32_t sh_type;
	uint64_t sh_flags;
	uint64_t sh_addr;
	uint64_t sh_offset;
	uint64_t sh_size;
	uint32_t sh_link;
	uint32_t sh_info;
	uint64_t sh_addralign;
	uint64_t sh_entsize;
};
_Static_assert(offsetof(struct elf64_shdr, sh_type) == 4, "layout");
_Static_assert(offsetof(struct elf64_shdr, sh_offset) == 24, "layout");
_Static_assert(offsetof(struct elf64_shdr, sh_size) == 32, "layout");
_Static_assert(offsetof(struct elf64_shdr, sh_link) == 40, "layout");
_Static_assert(sizeof(struct elf64_shdr) == 64, "layout");

struct elf64_sym {
	uint32_t st_name;
	uint8_t st_info;
	uint8_t st_other;
	uint16_t st_shndx;
	uint64_t st_value;
	uint64_t st_size;
};
_Static_assert(offsetof(struct elf64_sym, st_info) == 4, "layout");
_Static_assert(offsetof(struct elf64_sym, st_value) == 8, "layout");
_Static_assert(offsetof(struct elf64_sym, st_size) == 16, "layout");
_Static_assert(sizeof(struct elf64_sym) == 24, "layout");
#define STT_FUNC	 2
#define ELF64_ST_TYPE(i) ((i)&0xf)

#define ELF_MAX_SEGMENTS    16
#define ELF_PAGE_SIZE	    4096ULL
#define ELF_DOMAIN_SPAN_MAX (256ULL << 20) /* virtual space one domain image may cover */

/* What the image is for; decides which addresses must be sane. */
enum elf_kind {
	ELF_KIND_KERNEL = 1, /* ET_EXEC, loaded at p_paddr (physical) */
	ELF_KIND_DOMAIN = 2, /* ET_DYN (PIE), placed by the kernel */
};

struct elf_segment {
	uint64_t offset; /* in the file */
	uint64_t vaddr;
	uint64_t paddr;
	uint64_t filesz;
	uint64_t memsz;
	uint32_t flags; /* PF_* */
};

struct elf_info {
	uint64_t entry;	      /* e_entry as linked (virtual) */
	uint64_t entry_paddr; /* e_entry translated through its PT_LOAD */
	uint64_t paddr_lo;    /* lowest p_paddr of any PT_LOAD */
	uint64_t paddr_hi;    /* highest p_paddr + p_memsz */
	uint64_t span_lo;     /* lowest p_vaddr of any PT_LOAD, rounded down to a page */
	uint64_t span_hi;     /* highest p_vaddr + p_memsz, rounded up to a page */
	uint64_t rela_offset; /* domains: file offset of the DT_RELA table */
	uint64_t rela_count;  /* domains: entries in it (0 without one) */
	unsigned nsegs;	      /* PT_LOAD segments, in file order */
	struct elf_segment seg[ELF_MAX_SEGMENTS];
};

struct elf_error {
	char msg[160]; /* one line, no trailing newline */
};

/*
 * Validate an image of `size` bytes before anything is loaded: identity
 * (magic, class, byte order, version, machine, type for `kind`), program
 * header table bounds, each PT_LOAD's file bounds, filesz <= memsz,
 * alignment, address overflow, overlap between segments, W+X segments, and
 * that the entry point lies in an executable segment. Returns 0 and fills
 * *info, or returns -1 and writes the first problem found to err->msg.
 *
 * A domain must also be self-contained and safe under protection keys:
 * page-aligned segments within ELF_DOMAIN_SPAN_MAX, no PT_INTERP, a
 * PT_DYNAMIC (if any) without libraries, REL, RELR, PLT or text
 * relocations, a DT_RELA table inside a segment's file bytes holding only
 * R_X86_64_NONE and R_X86_64_RELATIVE, each RELATIVE patching 8 bytes of a
 * writable segment, and no WRPKRU, XRSTOR or XRSTORS byte sequence at any
 * offset of its executable bytes (see elf_forbidden_at() in elf_check.c). That
 * scan holds only for a loader that fills every byte of executable pages
 * that is not a segment's file bytes with zeros, as elf_copy_image does.
 */
int elf_check(const void *image, size_t size, enum elf_kind kind, struct elf_info *info,
	      struct elf_error *err);

/* ERIM's rule at one byte offset: given the two bytes after a 0F escape,
 * the forbidden instruction they start ("WRPKRU", "XRSTOR", "XRSTORS",
 * "WRFSBASE", "WRGSBASE"), or NULL. The loader's scan of a domain image and
 * maple-hosted's scan of its own process (hosted/audit.c) both use it. */
const char *elf_forbidden_at(uint8_t opcode, uint8_t modrm);

/* Entry i < info->rela_count of the relocation table elf_check validated in `file`. */
struct elf64_rela elf_rela(const void *file, const struct elf_info *info, uint64_t i);

/*
 * Placing a checked domain (kernel/lib/elf_reloc.c). `file` and `info` are
 * an image and what elf_check(ELF_KIND_DOMAIN) said of it; `loaded` is
 * info->span_hi - info->span_lo bytes that will appear at virtual address
 * `load_base`, so link address v runs at load_base + (v - info->span_lo),
 * the entry point included.
 *
 * elf_copy_image zeroes `loaded` and copies each segment's file bytes in.
 * elf_apply_relocations then writes every R_X86_64_RELATIVE's B + A, with
 * B = load_base - span_lo (psABI "Relocation Types"), reading the table
 * from `file` so that no relocation can rewrite another. It fails only for
 * a load_base that is not page-aligned or whose span would wrap around.
 */
void elf_copy_image(const void *file, const struct elf_info *info, uint8_t *loaded);

/*
 * The rights (PF_W, PF_X; every page is readable) of the loaded page at
 * link address `va`: those of the segment covering it, or none for a gap
 * between segments (zeros, read-only). One answer for every platform's
 * mapping code, so the VM and the hosted process place an image alike.
 */
uint32_t elf_page_flags(const struct elf_info *info, uint64_t va);
int elf_apply_relocations(const void *file, const struct elf_info *info, uint8_t *loaded,
			  uint64_t load_base, struct elf_error *err);

/*
 * Name the function containing link-time address `addr` from the image's
 * .symtab, as "name+0x1c", into out. Every offset in the file is checked;
 * returns false (out = "?") when there is no symbol table or no match.
 */
bool elf_symbolize(const void *file, size_t size, uint64_t addr, char *out, size_t outlen);

/* The value of the symbol called `name` in the file's .symtab, with the
 * same bounds checks; false if there is none. */
bool elf_symbol_value(const void *file, size_t size, const char *name, uint64_t *value);

#endif
