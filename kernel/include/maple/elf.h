/*
 * ELF64 layouts (System V gABI and the x86-64 psABI) and the portable image
 * checker shared by efi-loader (the kernel image) and the kernel's domain
 * loader. The checker validates everything before a single byte is mapped.
 */
#ifndef MAPLE_ELF_H
#define MAPLE_ELF_H

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

#define ELF_MAX_SEGMENTS 16

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
 */
int elf_check(const void *image, size_t size, enum elf_kind kind, struct elf_info *info,
	      struct elf_error *err);

#endif
