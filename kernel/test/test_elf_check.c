/*
 * Host tests for kernel/lib/elf_check.c's checks common to both kinds: a
 * well-formed kernel and domain image built in memory, then one test per
 * rejection, each breaking exactly one thing and expecting the exact
 * reason. The domain-only checks are in test_elf_domain.c and
 * test_elf_scan.c.
 */
#include "support/elf_image.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void expect_kernel_reject(const char *msg)
{
	expect_reject(ELF_KIND_KERNEL, IMG_SIZE, msg);
}

static void test_good_kernel(void **state)
{
	(void)state;
	struct elf_info info;
	struct elf_error err;
	make_kernel();
	assert_int_equal(elf_check(img, IMG_SIZE, ELF_KIND_KERNEL, &info, &err), 0);
	assert_int_equal(info.entry, KV + 0x100010);
	assert_int_equal(info.entry_paddr, 0x100010);
	assert_int_equal(info.paddr_lo, 0x100000);
	assert_int_equal(info.paddr_hi, 0x105000);
	assert_int_equal(info.nsegs, 3);
	assert_int_equal(info.seg[2].offset, 0x3000);
	assert_int_equal(info.seg[2].vaddr, KV + 0x102000);
	assert_int_equal(info.seg[2].paddr, 0x102000);
	assert_int_equal(info.seg[2].filesz, 0x100);
	assert_int_equal(info.seg[2].memsz, 0x3000);
	assert_int_equal(info.seg[2].flags, PF_R | PF_W);
	assert_int_equal(info.span_lo, KV + 0x100000);
	assert_int_equal(info.span_hi, KV + 0x105000);
	assert_int_equal(info.rela_count, 0);
}

static void test_good_domain(void **state)
{
	(void)state;
	struct elf_info info;
	struct elf_error err;
	make_domain();
	assert_int_equal(elf_check(img, IMG_SIZE, ELF_KIND_DOMAIN, &info, &err), 0);
	assert_int_equal(info.entry, 0x1010);
	assert_int_equal(info.nsegs, 2);
	/* Domains are placed virtually; overlapping physical addresses do not matter. */
	phdr(1)->p_paddr = 0x1000;
	assert_int_equal(elf_check(img, IMG_SIZE, ELF_KIND_DOMAIN, &info, &err), 0);
}

static void test_unaligned_image(void **state)
{
	(void)state;
	struct elf_info info;
	struct elf_error err;
	make_kernel();
	memmove(img + 1, img, IMG_SIZE);
	assert_int_equal(elf_check(img + 1, IMG_SIZE, ELF_KIND_KERNEL, &info, &err), 0);
	assert_int_equal(info.entry_paddr, 0x100010);
}

static void test_too_small(void **state)
{
	(void)state;
	make_kernel();
	expect_reject(ELF_KIND_KERNEL, 63, "file too small for an ELF header (63 bytes)");
	expect_reject(ELF_KIND_KERNEL, 0, "file too small for an ELF header (0 bytes)");
}

static void test_identity(void **state)
{
	(void)state;
	make_kernel();
	img[1] = 'e';
	expect_kernel_reject("bad ELF magic (not an ELF file)");
	make_kernel();
	img[EI_CLASS] = 1;
	expect_kernel_reject("not a 64-bit ELF file (class 1)");
	make_kernel();
	img[EI_DATA] = 2;
	expect_kernel_reject("not a little-endian ELF file (data encoding 2)");
	make_kernel();
	img[EI_VERSION] = 0;
	expect_kernel_reject("unsupported ELF version 0/1");
	make_kernel();
	ehdr()->e_version = 2;
	expect_kernel_reject("unsupported ELF version 1/2");
	make_kernel();
	ehdr()->e_machine = 3;
	expect_kernel_reject("not an x86-64 image (machine 3)");
}

static void test_type_for_kind(void **state)
{
	(void)state;
	make_kernel();
	ehdr()->e_type = ET_DYN;
	expect_kernel_reject("not an executable (ET_EXEC) image (type 3)");
	make_domain();
	ehdr()->e_type = ET_EXEC;
	expect_reject(ELF_KIND_DOMAIN, IMG_SIZE,
		      "not a position-independent (ET_DYN) image (type 2)");
	make_kernel();
	expect_reject((enum elf_kind)7, IMG_SIZE, "unknown image kind 7");
}

static void test_phdr_table(void **state)
{
	(void)state;
	make_kernel();
	ehdr()->e_phentsize = 32;
	expect_kernel_reject("program header size 32, expected 56");
	make_kernel();
	ehdr()->e_phoff = IMG_SIZE - 100;
	expect_kernel_reject("program header table (offset 0x3f9c, 4 entries) runs past the end of "
			     "the file (16384 bytes)");
	make_kernel();
	ehdr()->e_phoff = UINT64_MAX - 8; /* offset + size wraps */
	expect_kernel_reject(
		"program header table (offset 0xfffffffffffffff7, 4 entries) runs past "
		"the end of the file (16384 bytes)");
	make_kernel();
	ehdr()->e_phnum = 0xffff;
	expect_kernel_reject("program header table (offset 0x40, 65535 entries) runs past the end "
			     "of the file (16384 bytes)");
	make_kernel();
	ehdr()->e_phnum = 0;
	expect_kernel_reject("no loadable segment");
	make_kernel();
	phdr(0)->p_type = PT_NOTE;
	phdr(1)->p_type = PT_NULL;
	phdr(2)->p_type = PT_TLS;
	expect_kernel_reject("no loadable segment");
}

static void test_too_many_segments(void **state)
{
	(void)state;
	make_header(ET_EXEC, KV + 0x100008, ELF_MAX_SEGMENTS + 1);
	for (unsigned i = 0; i <= ELF_MAX_SEGMENTS; i++)
		set_phdr(i, PT_LOAD, PF_R | PF_X, 0x1000, KV + 0x100000 + i * 0x1000,
			 0x100000 + i * 0x1000, 0x10, 0x10);
	expect_kernel_reject("more than 16 loadable segments");
	ehdr()->e_phnum = ELF_MAX_SEGMENTS; /* exactly the maximum is fine */
	struct elf_info info;
	struct elf_error err;
	assert_int_equal(elf_check(img, IMG_SIZE, ELF_KIND_KERNEL, &info, &err), 0);
	assert_int_equal(info.nsegs, ELF_MAX_SEGMENTS);
}

static void test_file_bounds(void **state)
{
	(void)state;
	make_kernel();
	phdr(2)->p_filesz = 0x1001;
	expect_kernel_reject("segment 2: file bytes 0x3000+0x1001 run past the end of the file "
			     "(16384 bytes)");
	make_kernel();
	phdr(1)->p_offset = IMG_SIZE + 0x1000;
	expect_kernel_reject("segment 1: file bytes 0x5000+0x400 run past the end of the file "
			     "(16384 bytes)");
	make_kernel();
	phdr(1)->p_filesz = UINT64_MAX - 0x1000; /* offset + filesz wraps */
	phdr(1)->p_memsz = UINT64_MAX;
	expect_kernel_reject("segment 1: file bytes 0x2000+0xffffffffffffefff run past the end of "
			     "the file (16384 bytes)");
	make_kernel();
	expect_reject(ELF_KIND_KERNEL, 0x3080,
		      "segment 2: file bytes 0x3000+0x100 run past the end "
		      "of the file (12416 bytes)");
}

static void test_filesz_memsz(void **state)
{
	(void)state;
	make_kernel();
	phdr(1)->p_memsz = 0x3ff;
	expect_kernel_reject("segment 1: file size 0x400 exceeds memory size 0x3ff");
}

static void test_alignment(void **state)
{
	(void)state;
	make_kernel();
	phdr(1)->p_align = 0x3000;
	expect_kernel_reject("segment 1: alignment 0x3000 is not a power of two");
	make_kernel();
	phdr(1)->p_vaddr += 0x10;
	expect_kernel_reject("segment 1: address 0xffffffff80101010 and offset 0x2000 disagree "
			     "modulo 0x1000");
}

static void test_address_wrap(void **state)
{
	(void)state;
	make_kernel();
	phdr(2)->p_memsz = 0x7fffffffffffffffULL;
	expect_kernel_reject("segment 2: virtual range 0xffffffff80102000+0x7fffffffffffffff wraps "
			     "around");
	make_kernel();
	phdr(2)->p_vaddr = 0x102000;
	phdr(2)->p_paddr = UINT64_MAX - 0xfff;
	expect_kernel_reject("segment 2: physical range 0xfffffffffffff000+0x3000 wraps around");
	make_domain();
	phdr(1)->p_vaddr = UINT64_MAX - 0xfff;
	expect_reject(ELF_KIND_DOMAIN, IMG_SIZE,
		      "segment 1: virtual range 0xfffffffffffff000+0x2000 wraps around");
}

static void test_write_exec(void **state)
{
	(void)state;
	make_kernel();
	phdr(2)->p_flags = PF_R | PF_W | PF_X;
	expect_kernel_reject("segment 2 is both writable and executable");
	make_domain();
	phdr(0)->p_flags = PF_W | PF_X;
	expect_reject(ELF_KIND_DOMAIN, IMG_SIZE, "segment 0 is both writable and executable");
}

static void test_kernel_phys_window(void **state)
{
	(void)state;
	make_kernel();
	phdr(0)->p_paddr = 0xff000;
	expect_kernel_reject("segment 0: physical range 0xff000-0xff800 is outside [1 MiB, 4 GiB)");
	make_kernel();
	phdr(2)->p_paddr = 0xffffe000;
	expect_kernel_reject(
		"segment 2: physical range 0xffffe000-0x100001000 is outside [1 MiB, 4 GiB)");
	make_kernel();
	phdr(2)->p_paddr = 0xffffd000; /* ends exactly at 4 GiB: fine */
	struct elf_info info;
	struct elf_error err;
	assert_int_equal(elf_check(img, IMG_SIZE, ELF_KIND_KERNEL, &info, &err), 0);
	assert_int_equal(info.paddr_hi, 0x100000000ULL);
}

static void test_overlap(void **state)
{
	(void)state;
	make_kernel();
	phdr(2)->p_paddr = 0x100000; /* physically on top of text, virtually apart */
	expect_kernel_reject("segment 2 overlaps segment 0 (physical)");
	make_kernel();
	phdr(1)->p_paddr = 0x100800; /* right after text's last byte, in its page */
	expect_kernel_reject("segment 1 shares a physical page with segment 0");
	make_domain();
	phdr(1)->p_vaddr = 0x1000;
	phdr(1)->p_offset = 0x2000;
	expect_reject(ELF_KIND_DOMAIN, IMG_SIZE, "segment 1 overlaps segment 0 (virtual)");
	make_domain();
	phdr(1)->p_vaddr = 0x0; /* [0, 0x2000) covers text at 0x1000 */
	expect_reject(ELF_KIND_DOMAIN, IMG_SIZE, "segment 1 overlaps segment 0 (virtual)");
	make_domain();
	phdr(1)->p_vaddr = 0x1800;
	phdr(1)->p_offset = 0x2800;
	expect_reject(ELF_KIND_DOMAIN, IMG_SIZE, "segment 1 shares a virtual page with segment 0");
}

static void test_entry(void **state)
{
	(void)state;
	make_kernel();
	ehdr()->e_entry = KV + 0x102010; /* in data */
	expect_kernel_reject("entry point 0xffffffff80102010 is not inside an executable segment");
	make_kernel();
	ehdr()->e_entry = KV + 0x100800; /* one past text */
	expect_kernel_reject("entry point 0xffffffff80100800 is not inside an executable segment");
	make_kernel();
	ehdr()->e_entry = 0;
	expect_kernel_reject("entry point 0x0 is not inside an executable segment");
	make_domain();
	ehdr()->e_entry = 0x2000;
	expect_reject(ELF_KIND_DOMAIN, IMG_SIZE,
		      "entry point 0x2000 is not inside an executable segment");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_kernel),	cmocka_unit_test(test_good_domain),
		cmocka_unit_test(test_unaligned_image), cmocka_unit_test(test_too_small),
		cmocka_unit_test(test_identity),	cmocka_unit_test(test_type_for_kind),
		cmocka_unit_test(test_phdr_table),	cmocka_unit_test(test_too_many_segments),
		cmocka_unit_test(test_file_bounds),	cmocka_unit_test(test_filesz_memsz),
		cmocka_unit_test(test_alignment),	cmocka_unit_test(test_address_wrap),
		cmocka_unit_test(test_write_exec),	cmocka_unit_test(test_kernel_phys_window),
		cmocka_unit_test(test_overlap),		cmocka_unit_test(test_entry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
