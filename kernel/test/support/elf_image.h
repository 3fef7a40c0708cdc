/*
 * In-memory ELF images for the host tests of kernel/lib/elf_check.c and
 * elf_reloc.c: a well-formed kernel or domain image in one static buffer,
 * which each test then breaks in exactly one place.
 */
#ifndef TEST_ELF_IMAGE_H
#define TEST_ELF_IMAGE_H

#include <lib/elf.h>

#define KV	 0xffffffff80000000ULL /* the kernel image's link base */
#define IMG_SIZE 0x4000

/*
 * The domain: text at 0x1000 (0x800 bytes of int3), data at 0x2000 (0x100
 * file bytes, 0x2000 in memory) holding the dynamic section (0x80 bytes)
 * and at DOM_RELA three relocations: RELATIVE at 0x20f8 (addend 0x1010),
 * NONE, RELATIVE at 0x3ff8 (addend 0x2000, the last 8 bytes of data).
 */
#define DOM_DYN	   0x2000
#define DOM_RELA   0x2080
#define DOM_NRELA  3
#define DOM_SPAN   0x3000 /* [0x1000, 0x4000) */
#define DOM_RELOC0 0x20f8
#define DOM_RELOC2 0x3ff8

extern uint8_t img[IMG_SIZE + 1];

struct elf64_ehdr *ehdr(void);
struct elf64_phdr *phdr(unsigned i);
struct elf64_dyn *dyn(unsigned i);   /* the domain's dynamic entries, in the file */
struct elf64_rela *rela(unsigned i); /* the domain's relocations, in the file */

void set_phdr(unsigned i, uint32_t type, uint32_t flags, uint64_t off, uint64_t vaddr,
	      uint64_t paddr, uint64_t filesz, uint64_t memsz);
/* A header of type `type` with `phnum` program headers; the rest of img is 0xcc. */
void make_header(uint16_t type, uint64_t entry, uint16_t phnum);
void make_kernel(void);
void make_domain(void);

/* elf_check of the first `size` bytes of img must fail with exactly `msg`. */
void expect_reject(enum elf_kind kind, size_t size, const char *msg);
void expect_domain_reject(const char *msg); /* all of img, as a domain */
/* elf_check of all of img as a domain must pass. */
void expect_domain_accept(struct elf_info *info);

#endif
