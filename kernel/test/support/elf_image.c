/*
 * In-memory ELF images for the ELF host tests; see elf_image.h for the
 * layouts. The kernel one is laid out like kernel/arch/x86/kernel.ld.
 */
#include "elf_image.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

_Alignas(8) uint8_t img[IMG_SIZE + 1];

struct elf64_ehdr *ehdr(void)
{
	return (struct elf64_ehdr *)img;
}

struct elf64_phdr *phdr(unsigned i)
{
	return (struct elf64_phdr *)(img + sizeof(struct elf64_ehdr)) + i;
}

struct elf64_dyn *dyn(unsigned i)
{
	return (struct elf64_dyn *)(img + DOM_DYN) + i;
}

struct elf64_rela *rela(unsigned i)
{
	return (struct elf64_rela *)(img + DOM_RELA) + i;
}

void set_phdr(unsigned i, uint32_t type, uint32_t flags, uint64_t off, uint64_t vaddr,
	      uint64_t paddr, uint64_t filesz, uint64_t memsz)
{
	*phdr(i) = (struct elf64_phdr){
		.p_type = type,
		.p_flags = flags,
		.p_offset = off,
		.p_vaddr = vaddr,
		.p_paddr = paddr,
		.p_filesz = filesz,
		.p_memsz = memsz,
		.p_align = 0x1000,
	};
}

void make_header(uint16_t type, uint64_t entry, uint16_t phnum)
{
	memset(img, 0xcc, sizeof(img));
	*ehdr() = (struct elf64_ehdr){
		.e_ident = {0x7f, 'E', 'L', 'F', ELFCLASS64, ELFDATA2LSB, EV_CURRENT},
		.e_type = type,
		.e_machine = EM_X86_64,
		.e_version = EV_CURRENT,
		.e_entry = entry,
		.e_phoff = sizeof(struct elf64_ehdr),
		.e_ehsize = sizeof(struct elf64_ehdr),
		.e_phentsize = sizeof(struct elf64_phdr),
		.e_phnum = phnum,
	};
}

/* Text, rodata, data+bss, then a non-load header. */
void make_kernel(void)
{
	make_header(ET_EXEC, KV + 0x100010, 4);
	set_phdr(0, PT_LOAD, PF_R | PF_X, 0x1000, KV + 0x100000, 0x100000, 0x800, 0x800);
	set_phdr(1, PT_LOAD, PF_R, 0x2000, KV + 0x101000, 0x101000, 0x400, 0x400);
	set_phdr(2, PT_LOAD, PF_R | PF_W, 0x3000, KV + 0x102000, 0x102000, 0x100, 0x3000);
	set_phdr(3, PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0, 0);
}

void make_domain(void)
{
	make_header(ET_DYN, 0x1010, 3);
	set_phdr(0, PT_LOAD, PF_R | PF_X, 0x1000, 0x1000, 0x1000, 0x800, 0x800);
	set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2000, 0x2000, 0x2000, 0x100, 0x2000);
	set_phdr(2, PT_DYNAMIC, PF_R | PF_W, DOM_DYN, DOM_DYN, DOM_DYN, 0x80, 0x80);
	/* Entries after DT_NULL stay 0xcc: nothing reads past the terminator. */
	*dyn(0) = (struct elf64_dyn){DT_RELA, DOM_RELA};
	*dyn(1) = (struct elf64_dyn){DT_RELASZ, DOM_NRELA * sizeof(struct elf64_rela)};
	*dyn(2) = (struct elf64_dyn){DT_RELAENT, sizeof(struct elf64_rela)};
	*dyn(3) = (struct elf64_dyn){DT_NULL, 0};
	*rela(0) = (struct elf64_rela){DOM_RELOC0, R_X86_64_RELATIVE, 0x1010};
	*rela(1) = (struct elf64_rela){0, R_X86_64_NONE, 0};
	*rela(2) = (struct elf64_rela){DOM_RELOC2, R_X86_64_RELATIVE, 0x2000};
}

void expect_reject(enum elf_kind kind, size_t size, const char *msg)
{
	struct elf_info info;
	struct elf_error err;
	assert_int_equal(elf_check(img, size, kind, &info, &err), -1);
	assert_string_equal(err.msg, msg);
}

void expect_domain_reject(const char *msg)
{
	expect_reject(ELF_KIND_DOMAIN, IMG_SIZE, msg);
}

void expect_domain_accept(struct elf_info *info)
{
	struct elf_error err;
	int rc = elf_check(img, IMG_SIZE, ELF_KIND_DOMAIN, info, &err);
	assert_string_equal(err.msg, "");
	assert_int_equal(rc, 0);
}
