/*
 * Host tests for elf_check's domain-only structure checks: page alignment,
 * span, PT_INTERP, the dynamic section and the relocation table, on the
 * in-memory domain of support/elf_image.c, each test breaking one thing.
 * The forbidden-instruction scan is tested in test_elf_scan.c.
 */
#include "support/elf_image.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define RELA_SIZE sizeof(struct elf64_rela)

static void test_good(void **state)
{
	(void)state;
	struct elf_info info;
	make_domain();
	expect_domain_accept(&info);
	assert_int_equal(info.entry, 0x1010);
	assert_int_equal(info.span_lo, 0x1000);
	assert_int_equal(info.span_hi, 0x1000 + DOM_SPAN);
	assert_int_equal(info.rela_offset, DOM_RELA);
	assert_int_equal(info.rela_count, DOM_NRELA);
}

static void test_unaligned_image(void **state)
{
	(void)state;
	struct elf_info info;
	struct elf_error err;
	make_domain();
	memmove(img + 1, img, IMG_SIZE);
	assert_int_equal(elf_check(img + 1, IMG_SIZE, ELF_KIND_DOMAIN, &info, &err), 0);
	assert_int_equal(info.rela_count, DOM_NRELA);
}

static void test_without_relocations(void **state)
{
	(void)state;
	struct elf_info info;
	make_domain();
	ehdr()->e_phnum = 2; /* no PT_DYNAMIC at all */
	expect_domain_accept(&info);
	assert_int_equal(info.rela_count, 0);
	make_domain();
	dyn(0)->d_tag = DT_NULL; /* an empty dynamic section */
	expect_domain_accept(&info);
	assert_int_equal(info.rela_count, 0);
	make_domain();
	dyn(1)->d_val = 0; /* a table of no entries needs no valid entry size */
	dyn(2)->d_val = 7;
	expect_domain_accept(&info);
	assert_int_equal(info.rela_count, 0);
}

static void test_harmless_tags(void **state)
{
	(void)state;
	struct elf_info info;
	make_domain();
	*dyn(0) = (struct elf64_dyn){DT_RELAENT, RELA_SIZE}; /* any order will do */
	*dyn(1) = (struct elf64_dyn){DT_RELASZ, DOM_NRELA * RELA_SIZE};
	*dyn(2) = (struct elf64_dyn){DT_PLTRELSZ, 0};
	*dyn(3) = (struct elf64_dyn){DT_FLAGS, 0x8 /* DF_BIND_NOW */};
	*dyn(4) = (struct elf64_dyn){21 /* DT_DEBUG */, 0};
	*dyn(5) = (struct elf64_dyn){DT_RELA, DOM_RELA};
	*dyn(6) = (struct elf64_dyn){DT_NULL, 0};
	*dyn(7) = (struct elf64_dyn){DT_NEEDED, 1}; /* past DT_NULL: never read */
	expect_domain_accept(&info);
	assert_int_equal(info.rela_count, DOM_NRELA);
}

static void test_page_alignment(void **state)
{
	(void)state;
	struct elf_info info;
	make_domain();
	phdr(1)->p_align = 0x800;
	expect_domain_reject("segment 1: alignment 0x800 is smaller than a page (0x1000)");
	make_domain();
	phdr(0)->p_align = 0;
	expect_domain_reject("segment 0: alignment 0x0 is smaller than a page (0x1000)");
	make_domain();
	phdr(0)->p_align = 0x200000;
	phdr(1)->p_align = 0x200000;
	expect_domain_accept(&info);
	/* Only loadable segments are mapped; the dynamic section's alignment is its own. */
	phdr(2)->p_align = 8;
	expect_domain_accept(&info);
}

static void test_span(void **state)
{
	(void)state;
	struct elf_info info;
	make_domain();
	phdr(1)->p_memsz = ELF_DOMAIN_SPAN_MAX - 0x1000; /* [0x1000, 0x1000 + 256 MiB) */
	expect_domain_accept(&info);
	assert_int_equal(info.span_hi - info.span_lo, ELF_DOMAIN_SPAN_MAX);
	phdr(1)->p_memsz++;
	expect_domain_reject("image spans 0x10001000 bytes, more than a domain's 0x10000000");
	make_domain();
	phdr(1)->p_vaddr += 0x7fff0000000ULL; /* small segments far apart */
	expect_domain_reject("image spans 0x7fff0003000 bytes, more than a domain's 0x10000000");
	make_domain();
	phdr(2)->p_vaddr = 0x7fff0000000ULL; /* not a PT_LOAD: takes no space */
	ehdr()->e_phnum = 4;
	set_phdr(3, PT_LOAD, PF_R, 0, 0x7fff0000000ULL, 0, 0, 0); /* empty: takes none either */
	expect_domain_accept(&info);
	assert_int_equal(info.span_hi - info.span_lo, DOM_SPAN);
}

static void test_interp(void **state)
{
	(void)state;
	make_domain();
	ehdr()->e_phnum = 4;
	set_phdr(3, PT_INTERP, PF_R, 0x3000, 0x3000, 0x3000, 0x1c, 0x1c);
	expect_domain_reject("segment 3: a domain cannot have an interpreter (PT_INTERP)");
}

static void test_second_dynamic(void **state)
{
	(void)state;
	make_domain();
	ehdr()->e_phnum = 4;
	*phdr(3) = *phdr(2);
	expect_domain_reject("segment 3: a second dynamic section (PT_DYNAMIC)");
}

static void test_dynamic_bounds(void **state)
{
	(void)state;
	make_domain();
	phdr(2)->p_offset = IMG_SIZE - 0x40;
	expect_domain_reject("segment 2: dynamic section 0x3fc0+0x80 runs past the end of the file "
			     "(16384 bytes)");
	make_domain();
	phdr(2)->p_offset = IMG_SIZE + 0x10;
	expect_domain_reject("segment 2: dynamic section 0x4010+0x80 runs past the end of the file "
			     "(16384 bytes)");
	make_domain();
	phdr(2)->p_filesz = UINT64_MAX - 0x1000; /* offset + size wraps */
	expect_domain_reject("segment 2: dynamic section 0x2000+0xffffffffffffefff runs past the "
			     "end of the file (16384 bytes)");
}

static void test_dynamic_terminator(void **state)
{
	(void)state;
	make_domain();
	*dyn(3) = (struct elf64_dyn){21 /* DT_DEBUG */, 0}; /* the rest is 0xcc, never DT_NULL */
	expect_domain_reject("segment 2: dynamic section has no DT_NULL terminator");
	make_domain();
	phdr(2)->p_filesz = 4 * sizeof(struct elf64_dyn) - 1; /* DT_NULL cut short */
	expect_domain_reject("segment 2: dynamic section has no DT_NULL terminator");
	make_domain();
	phdr(2)->p_filesz = 0;
	expect_domain_reject("segment 2: dynamic section has no DT_NULL terminator");
}

/* The domain with dynamic entry 1 replaced by {tag, val}. */
static void expect_entry_reject(int64_t tag, uint64_t val, const char *msg)
{
	make_domain();
	*dyn(1) = (struct elf64_dyn){tag, val};
	expect_domain_reject(msg);
}

static void test_refused_tags(void **state)
{
	(void)state;
	expect_entry_reject(DT_NEEDED, 1, "dynamic entry 1: needs shared library (DT_NEEDED)");
	expect_entry_reject(DT_REL, 0x2080,
			    "dynamic entry 1: REL relocations (DT_REL) are not supported");
	expect_entry_reject(DT_RELR, 0x2080,
			    "dynamic entry 1: packed relocations (DT_RELR) are not supported");
	expect_entry_reject(DT_JMPREL, 0x2080,
			    "dynamic entry 1: PLT relocations (DT_JMPREL) are not supported");
	expect_entry_reject(DT_PLTRELSZ, 0x18,
			    "dynamic entry 1: PLT relocations (DT_PLTRELSZ 0x18) are not "
			    "supported");
	expect_entry_reject(DT_TEXTREL, 0,
			    "dynamic entry 1: relocations against code (DT_TEXTREL)");
	expect_entry_reject(DT_FLAGS, DF_TEXTREL | 0x8,
			    "dynamic entry 1: relocations against code (DF_TEXTREL)");
}

static void test_table_shape(void **state)
{
	(void)state;
	make_domain();
	dyn(2)->d_val = 16;
	expect_domain_reject("relocation entry size (DT_RELAENT) is 16, expected 24");
	make_domain();
	dyn(2)->d_tag = 21; /* DT_DEBUG in place of DT_RELAENT */
	expect_domain_reject("relocation entry size (DT_RELAENT) is 0, expected 24");
	make_domain();
	dyn(1)->d_val = 50;
	expect_domain_reject("relocation table size (DT_RELASZ) 0x32 is not a multiple of 24");
	make_domain();
	dyn(0)->d_tag = 21;
	expect_domain_reject("relocation table size (DT_RELASZ) given without a table (DT_RELA)");
}

static void test_table_bounds(void **state)
{
	(void)state;
	struct elf_info info;
	make_domain();
	dyn(0)->d_val = 0x2100; /* in data's memory, past its file bytes */
	expect_domain_reject("relocation table 0x2100+0x48 is not inside a segment's file bytes");
	make_domain();
	dyn(0)->d_val = 0x20c0; /* runs 8 bytes past data's file bytes */
	expect_domain_reject("relocation table 0x20c0+0x48 is not inside a segment's file bytes");
	make_domain();
	dyn(0)->d_val = 0x1800; /* between text and data */
	expect_domain_reject("relocation table 0x1800+0x48 is not inside a segment's file bytes");
	make_domain();
	dyn(0)->d_val = UINT64_MAX - 0x10; /* address + size wraps */
	expect_domain_reject(
		"relocation table 0xffffffffffffffef+0x48 is not inside a segment's file bytes");
	make_domain();
	dyn(1)->d_val = UINT64_MAX / RELA_SIZE * RELA_SIZE; /* a size no file has */
	expect_domain_reject("relocation table 0x2080+0xfffffffffffffff0 is not inside a "
			     "segment's file bytes");
	make_domain();
	memmove(img + 0x2100 - DOM_NRELA * RELA_SIZE, rela(0), DOM_NRELA * RELA_SIZE);
	dyn(0)->d_val = 0x2100 - DOM_NRELA * RELA_SIZE; /* ends exactly with data's file bytes */
	expect_domain_accept(&info);
	assert_int_equal(info.rela_offset, 0x2100 - DOM_NRELA * RELA_SIZE);
}

static void test_table_in_any_segment(void **state)
{
	(void)state;
	struct elf_info info;
	make_domain();
	/* Any segment's file bytes will do: the loader reads the table from the file. */
	memcpy(img + 0x1400, rela(0), DOM_NRELA * RELA_SIZE);
	dyn(0)->d_val = 0x1400;
	memset(rela(0), 0xcc, DOM_NRELA * RELA_SIZE);
	expect_domain_accept(&info);
	assert_int_equal(info.rela_offset, 0x1400);
}

static void test_relocation_types(void **state)
{
	(void)state;
	struct elf_info info;
	make_domain();
	rela(1)->r_info = 1; /* R_X86_64_64 */
	expect_domain_reject("relocation 1 has unsupported type 1 (only R_X86_64_RELATIVE and "
			     "R_X86_64_NONE)");
	make_domain();
	rela(2)->r_info = 37; /* R_X86_64_IRELATIVE */
	expect_domain_reject("relocation 2 has unsupported type 37 (only R_X86_64_RELATIVE and "
			     "R_X86_64_NONE)");
	make_domain();
	rela(0)->r_info = 7ULL << 32 | 6; /* R_X86_64_GLOB_DAT against symbol 7 */
	expect_domain_reject("relocation 0 has unsupported type 6 (only R_X86_64_RELATIVE and "
			     "R_X86_64_NONE)");
	make_domain();
	rela(0)->r_info = 0xffffffffULL;
	expect_domain_reject("relocation 0 has unsupported type 4294967295 (only "
			     "R_X86_64_RELATIVE and R_X86_64_NONE)");
	make_domain();
	rela(0)->r_info = 3ULL << 32 | R_X86_64_RELATIVE; /* the symbol index means nothing */
	rela(1)->r_info = 5ULL << 32 | R_X86_64_NONE;
	expect_domain_accept(&info);
}

static void test_relocation_targets(void **state)
{
	(void)state;
	struct elf_info info;
	make_domain();
	rela(0)->r_offset = 0x1000; /* code */
	expect_domain_reject("relocation 0 (R_X86_64_RELATIVE) at 0x1000 does not patch 8 bytes "
			     "of a writable segment");
	make_domain();
	rela(2)->r_offset = 0x3ff9; /* last 7 bytes of data and one beyond */
	expect_domain_reject("relocation 2 (R_X86_64_RELATIVE) at 0x3ff9 does not patch 8 bytes "
			     "of a writable segment");
	make_domain();
	rela(0)->r_offset = 0x1ffc; /* between text and data, running into data */
	expect_domain_reject("relocation 0 (R_X86_64_RELATIVE) at 0x1ffc does not patch 8 bytes "
			     "of a writable segment");
	make_domain();
	rela(0)->r_offset = UINT64_MAX - 3; /* offset + 8 wraps */
	expect_domain_reject("relocation 0 (R_X86_64_RELATIVE) at 0xfffffffffffffffc does not "
			     "patch 8 bytes of a writable segment");
	make_domain();
	phdr(1)->p_flags = PF_R; /* data made read-only */
	expect_domain_reject("relocation 0 (R_X86_64_RELATIVE) at 0x20f8 does not patch 8 bytes "
			     "of a writable segment");
	make_domain();
	rela(0)->r_offset = 0x2000;	/* first 8 bytes of data */
	rela(1)->r_offset = UINT64_MAX; /* R_X86_64_NONE patches nothing */
	expect_domain_accept(&info);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_unaligned_image),
		cmocka_unit_test(test_without_relocations),
		cmocka_unit_test(test_harmless_tags),
		cmocka_unit_test(test_page_alignment),
		cmocka_unit_test(test_span),
		cmocka_unit_test(test_interp),
		cmocka_unit_test(test_second_dynamic),
		cmocka_unit_test(test_dynamic_bounds),
		cmocka_unit_test(test_dynamic_terminator),
		cmocka_unit_test(test_refused_tags),
		cmocka_unit_test(test_table_shape),
		cmocka_unit_test(test_table_bounds),
		cmocka_unit_test(test_table_in_any_segment),
		cmocka_unit_test(test_relocation_types),
		cmocka_unit_test(test_relocation_targets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
