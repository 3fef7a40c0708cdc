/*
 * Host tests for kernel/lib/elf_reloc.c and for the whole domain path on
 * real images: the in-memory domain copied and relocated at chosen bases,
 * then the fixtures from kernel/test/fixtures (built by ninja into
 * TEST_FIXTURES, read relative to the repository root): the clean one is
 * checked, copied, relocated and run; each bad one is refused for its
 * reason.
 */
#include "support/elf_image.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "support/read_file.h"

#define BASE 0x7fff00000000ULL

static uint64_t read64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/* The in-memory domain, checked and copied into a fresh span (freed by the caller). */
static uint8_t *place_domain(struct elf_info *info)
{
	expect_domain_accept(info);
	uint8_t *loaded = malloc(DOM_SPAN);
	assert_non_null(loaded);
	memset(loaded, 0xaa, DOM_SPAN); /* elf_copy_image must overwrite all of it */
	elf_copy_image(img, info, loaded);
	return loaded;
}

static void test_copy(void **state)
{
	(void)state;
	struct elf_info info;
	make_domain();
	uint8_t *loaded = place_domain(&info);
	assert_memory_equal(loaded, img + 0x1000, 0x800); /* text */
	for (unsigned i = 0x800; i < 0x1000; i++)	  /* the rest of text's page */
		assert_int_equal(loaded[i], 0);
	assert_memory_equal(loaded + 0x1000, img + 0x2000, 0x100); /* data's file bytes */
	for (unsigned i = 0x1100; i < DOM_SPAN; i++)		   /* and its zero fill */
		assert_int_equal(loaded[i], 0);
	free(loaded);
}

static void test_apply(void **state)
{
	(void)state;
	struct elf_info info;
	struct elf_error err;
	make_domain();
	rela(1)->r_offset = 0x2010; /* R_X86_64_NONE: must leave these bytes alone */
	uint8_t *loaded = place_domain(&info);
	assert_int_equal(elf_apply_relocations(img, &info, loaded, BASE, &err), 0);
	assert_string_equal(err.msg, "");
	/* Link address 0x1000 runs at BASE, so B = BASE - 0x1000. */
	assert_int_equal(read64(loaded + DOM_RELOC0 - 0x1000), BASE + 0x10);
	assert_int_equal(read64(loaded + DOM_RELOC2 - 0x1000), BASE + 0x1000);
	assert_memory_equal(loaded + 0x1010, img + 0x2010, 8);
	free(loaded);
}

static void test_negative_addend(void **state)
{
	(void)state;
	struct elf_info info;
	struct elf_error err;
	make_domain();
	rela(0)->r_addend = -8;
	uint8_t *loaded = place_domain(&info);
	assert_int_equal(elf_apply_relocations(img, &info, loaded, BASE, &err), 0);
	assert_int_equal(read64(loaded + DOM_RELOC0 - 0x1000), BASE - 0x1000 - 8);
	free(loaded);
}

/* A relocation that rewrites the loaded copy of the table changes nothing applied. */
static void test_table_read_from_file(void **state)
{
	(void)state;
	struct elf_info info;
	struct elf_error err;
	make_domain();
	uint64_t reloc2_offset = DOM_RELA + 2 * sizeof(struct elf64_rela);
	rela(0)->r_offset = reloc2_offset;
	uint8_t *loaded = place_domain(&info);
	assert_int_equal(elf_apply_relocations(img, &info, loaded, BASE, &err), 0);
	assert_int_equal(read64(loaded + reloc2_offset - 0x1000), BASE + 0x10);
	assert_int_equal(read64(loaded + DOM_RELOC2 - 0x1000), BASE + 0x1000);
	free(loaded);
}

static void test_bases(void **state)
{
	(void)state;
	struct elf_info info;
	struct elf_error err;
	make_domain();
	uint8_t *loaded = place_domain(&info);
	assert_int_equal(elf_apply_relocations(img, &info, loaded, BASE + 0x10, &err), -1);
	assert_string_equal(err.msg, "load base 0x7fff00000010 is not page-aligned");
	assert_int_equal(elf_apply_relocations(img, &info, loaded, 0xfffffffffffff000ULL, &err),
			 -1);
	assert_string_equal(err.msg, "image of 0x3000 bytes at 0xfffffffffffff000 wraps around "
				     "the address space");
	/* Ending exactly at 2^64 is fine; so is a base below the link address. */
	assert_int_equal(elf_apply_relocations(img, &info, loaded, 0xffffffffffffd000ULL, &err), 0);
	assert_int_equal(read64(loaded + DOM_RELOC2 - 0x1000), 0xffffffffffffe000ULL);
	assert_int_equal(elf_apply_relocations(img, &info, loaded, 0, &err), 0);
	assert_int_equal(read64(loaded + DOM_RELOC0 - 0x1000), 0x10);
	free(loaded);
}

/*
 * A loadable segment that occupies no memory (p_memsz 0) gives no page its
 * rights: elf_check takes no bytes of it into the span and skips it when it
 * checks that segments share no page, so it may claim any address. Listed
 * first, an empty executable one at 0x2800 made data's page [0x2000, 0x3000)
 * read and execute, although check_code scans only executable segments'
 * file bytes and data's were never scanned (a domain could run a WRPKRU
 * stored there: rogue case 480, hosted/tests_lifecycle.c).
 */
static void test_empty_segment_lends_no_rights(void **state)
{
	(void)state;
	struct elf_info info;
	make_domain();
	ehdr()->e_phnum = 4;
	*phdr(3) = *phdr(0); /* text, now after the empty one */
	set_phdr(0, PT_LOAD, PF_R | PF_X, 0x800, 0x2800, 0x2800, 0, 0);
	expect_domain_accept(&info);
	assert_int_equal(elf_page_flags(&info, 0x1000), PF_X);
	assert_int_equal(elf_page_flags(&info, 0x2000), PF_W);
	assert_int_equal(elf_page_flags(&info, 0x3000), PF_W);
	/* An empty writable one inside text's page made text writable and
	 * not executable: harmless to others, but not text's rights. */
	set_phdr(0, PT_LOAD, PF_R | PF_W, 0x800, 0x1800, 0x1800, 0, 0);
	expect_domain_accept(&info);
	assert_int_equal(elf_page_flags(&info, 0x1000), PF_X);
}

/* Reads out/test/fixtures/<name>.elf into a malloc'd buffer. */
static uint8_t *read_fixture(const char *name, size_t *size)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s.elf", TEST_FIXTURES, name);
	return test_read_file(path, size);
}

/* Checks, places, relocates and runs clean.c's entry(), as the kernel will (minus keys). */
static void test_fixture_clean_runs(void **state)
{
	(void)state;
	size_t size;
	struct elf_info info;
	struct elf_error err;
	uint8_t *file = read_fixture("clean", &size);
	int rc = elf_check(file, size, ELF_KIND_DOMAIN, &info, &err);
	assert_string_equal(err.msg, "");
	assert_int_equal(rc, 0);
	assert_true(info.rela_count > 0);

	size_t span = info.span_hi - info.span_lo;
	uint8_t *mem = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(mem != MAP_FAILED);
	elf_copy_image(file, &info, mem);
	assert_int_equal(elf_apply_relocations(file, &info, mem, (uintptr_t)mem, &err), 0);
	for (uint64_t i = 0; i < info.rela_count; i++) {
		struct elf64_rela r = elf_rela(file, &info, i);
		assert_int_equal(ELF64_R_TYPE(r.r_info), R_X86_64_RELATIVE);
		assert_int_equal(read64(mem + r.r_offset - info.span_lo),
				 (uintptr_t)mem - info.span_lo + r.r_addend);
	}
	for (unsigned i = 0; i < info.nsegs; i++) {
		const struct elf_segment *s = &info.seg[i];
		uint64_t lo = s->vaddr & ~(ELF_PAGE_SIZE - 1);
		uint64_t hi = (s->vaddr + s->memsz + ELF_PAGE_SIZE - 1) & ~(ELF_PAGE_SIZE - 1);
		if ((s->flags & PF_X) && s->memsz != 0)
			assert_int_equal(
				mprotect(mem + lo - info.span_lo, hi - lo, PROT_READ | PROT_EXEC),
				0);
	}
	int (*entry)(void) = (int (*)(void))(uintptr_t)(mem + info.entry - info.span_lo);
	assert_int_equal(entry(), 150);
	munmap(mem, span);
	free(file);
}

static void test_fixture_lookalikes_pass(void **state)
{
	(void)state;
	size_t size;
	struct elf_info info;
	struct elf_error err;
	uint8_t *file = read_fixture("lfence", &size);
	int rc = elf_check(file, size, ELF_KIND_DOMAIN, &info, &err);
	assert_string_equal(err.msg, "");
	assert_int_equal(rc, 0);
	free(file);
}

/*
 * The fixture must be refused for `name`, at a file offset that holds the
 * reported bytes; returns that offset into *file (freed by the caller).
 */
static uint64_t expect_fixture_forbidden(const char *fixture, const char *name, uint8_t **file)
{
	size_t size;
	struct elf_info info;
	struct elf_error err;
	char got[16];
	unsigned opcode, modrm, seg;
	unsigned long long off;
	*file = read_fixture(fixture, &size);
	assert_int_equal(elf_check(*file, size, ELF_KIND_DOMAIN, &info, &err), -1);
	assert_int_equal(sscanf(err.msg,
				"forbidden instruction %15s (0f %x %x) at file offset 0x%llx "
				"(segment %u)",
				got, &opcode, &modrm, &off, &seg),
			 5);
	assert_string_equal(got, name);
	assert_true(off >= 1 && off + 3 <= size);
	assert_int_equal((*file)[off], 0x0f);
	assert_int_equal((*file)[off + 1], opcode);
	assert_int_equal((*file)[off + 2], modrm);
	return off;
}

static void test_fixture_forbidden(void **state)
{
	(void)state;
	uint8_t *file;
	uint64_t off = expect_fixture_forbidden("wrpkru_const", "WRPKRU", &file);
	assert_int_equal(file[off + 2], 0xef);
	free(file);
	off = expect_fixture_forbidden("wrpkru_imm", "WRPKRU", &file);
	assert_int_equal(file[off - 1], 0xb8); /* inside a MOV's immediate */
	free(file);
	off = expect_fixture_forbidden("xrstor_misaligned", "XRSTOR", &file);
	assert_int_equal(file[off - 1], 0xb8);
	assert_int_equal(file[off + 2], 0x2f);
	free(file);
	off = expect_fixture_forbidden("xrstors", "XRSTORS", &file);
	assert_int_equal(file[off - 1], 0x48); /* behind its REX.W */
	free(file);
}

static void test_fixture_relocations_refused(void **state)
{
	(void)state;
	size_t size;
	struct elf_info info;
	struct elf_error err;
	uint8_t *file = read_fixture("ifunc_data", &size);
	assert_int_equal(elf_check(file, size, ELF_KIND_DOMAIN, &info, &err), -1);
	assert_string_equal(err.msg, "relocation 1 has unsupported type 37 (only "
				     "R_X86_64_RELATIVE and R_X86_64_NONE)");
	free(file);
	file = read_fixture("ifunc_call", &size);
	assert_int_equal(elf_check(file, size, ELF_KIND_DOMAIN, &info, &err), -1);
	assert_true(strncmp(err.msg, "dynamic entry ", 14) == 0);
	assert_non_null(strstr(err.msg, ": PLT relocations (DT_"));
	free(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_apply),
		cmocka_unit_test(test_negative_addend),
		cmocka_unit_test(test_table_read_from_file),
		cmocka_unit_test(test_bases),
		cmocka_unit_test(test_empty_segment_lends_no_rights),
		cmocka_unit_test(test_fixture_clean_runs),
		cmocka_unit_test(test_fixture_lookalikes_pass),
		cmocka_unit_test(test_fixture_forbidden),
		cmocka_unit_test(test_fixture_relocations_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
