/*
 * Host tests for kernel/lib/elf_sym.c, on the clean fixture domain
 * (out/test/fixtures/clean.elf: functions square, cube and entry): names
 * and offsets, an image whose section headers sit at an odd offset or that
 * sits at an odd address (read by copying, never through a misaligned
 * pointer), symbol names with control bytes, and images without a usable
 * symbol table.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <lib/elf.h>

#include "support/read_file.h"

/*
 * A misaligned read is the bug these tests look for, and on x86 it gives
 * the right answer: have UBSan stop the test at its report instead of
 * letting it go on and pass.
 */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

static uint8_t *image;
static size_t image_size;

static int setup(void **state)
{
	(void)state;
	image = test_read_file(TEST_FIXTURES "/clean.elf", &image_size);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(image);
	return 0;
}

static struct elf64_ehdr header(const uint8_t *f)
{
	struct elf64_ehdr eh;
	memcpy(&eh, f, sizeof eh);
	return eh;
}

static struct elf64_shdr section(const uint8_t *f, unsigned i)
{
	struct elf64_ehdr eh = header(f);
	struct elf64_shdr sh;
	memcpy(&sh, f + eh.e_shoff + i * sizeof sh, sizeof sh);
	return sh;
}

/* The value of the function symbol `name`, from the fixture's .symtab. */
static uint64_t symbol(const char *name)
{
	struct elf64_ehdr eh = header(image);
	for (unsigned i = 0; i < eh.e_shnum; i++) {
		struct elf64_shdr symtab = section(image, i);
		if (symtab.sh_type != SHT_SYMTAB)
			continue;
		struct elf64_shdr strtab = section(image, symtab.sh_link);
		for (uint64_t k = 0; k < symtab.sh_size / sizeof(struct elf64_sym); k++) {
			struct elf64_sym s;
			memcpy(&s, image + symtab.sh_offset + k * sizeof s, sizeof s);
			if (strcmp((const char *)image + strtab.sh_offset + s.st_name, name) == 0)
				return s.st_value;
		}
	}
	fail_msg("clean.elf has no symbol %s", name);
	return 0;
}

static void expect(const uint8_t *f, size_t size, uint64_t addr, const char *want)
{
	char out[64];
	assert_true(elf_symbolize(f, size, addr, out, sizeof(out)));
	assert_string_equal(out, want);
}

static void test_names_and_offsets(void **state)
{
	(void)state;
	expect(image, image_size, symbol("entry"), "entry+0x0");
	expect(image, image_size, symbol("entry") + 5, "entry+0x5");
	expect(image, image_size, symbol("cube") + 1, "cube+0x1");
	expect(image, image_size, symbol("square"), "square+0x0");
}

/* The reverse lookup maple-hosted uses to find the gate pages in kernel.elf. */
static void test_symbol_value(void **state)
{
	(void)state;
	uint64_t v = 0;
	assert_true(elf_symbol_value(image, image_size, "cube", &v));
	assert_int_equal(v, symbol("cube"));
	assert_true(elf_symbol_value(image, image_size, "square", &v));
	assert_int_equal(v, symbol("square"));
	v = 7;
	assert_false(elf_symbol_value(image, image_size, "squar", &v)); /* a prefix is not a name */
	assert_false(elf_symbol_value(image, image_size, "squares", &v));
	assert_false(elf_symbol_value(image, image_size, "nothing", &v));
	assert_false(elf_symbol_value(image, 63, "cube", &v)); /* shorter than its header */
	assert_int_equal(v, 7);
}

/*
 * Finding 8 of issue 9: the section header table at an odd file offset
 * (the file is the same, one byte longer, with the table moved to its end).
 */
static void test_odd_shoff(void **state)
{
	(void)state;
	struct elf64_ehdr eh = header(image);
	size_t table = (size_t)eh.e_shnum * sizeof(struct elf64_shdr);
	size_t odd = image_size | 1;
	uint8_t *f = calloc(1, odd + table);
	assert_non_null(f);
	memcpy(f, image, image_size);
	memcpy(f + odd, image + eh.e_shoff, table);
	eh.e_shoff = odd;
	memcpy(f, &eh, sizeof eh);

	expect(f, odd + table, symbol("cube") + 2, "cube+0x2");
	free(f);
}

/* The image itself at an odd address: every offset in it is then odd too. */
static void test_odd_address(void **state)
{
	(void)state;
	uint8_t *buf = malloc(image_size + 1);
	assert_non_null(buf);
	memcpy(buf + 1, image, image_size);
	expect(buf + 1, image_size, symbol("entry") + 3, "entry+0x3");
	free(buf);
}

/* A name from the image goes to COM1: its control bytes come out as '?'. */
static void test_control_bytes_in_name(void **state)
{
	(void)state;
	uint8_t *f = malloc(image_size);
	assert_non_null(f);
	memcpy(f, image, image_size);
	uint8_t *name = memmem(f, image_size, "square", 7);
	assert_non_null(name);
	memcpy(name, "\x1b[2J\x7f\x9b", 6);
	expect(f, image_size, symbol("square") + 1, "?[2J??+0x1");
	free(f);
}

static void test_no_symbols(void **state)
{
	(void)state;
	char out[64] = "junk";

	/* Too small for a header; the table past the end; the wrong entry size. */
	assert_false(elf_symbolize(image, 63, symbol("entry"), out, sizeof(out)));
	assert_string_equal(out, "?");
	uint8_t *f = malloc(image_size);
	assert_non_null(f);
	memcpy(f, image, image_size);
	struct elf64_ehdr eh = header(image);
	eh.e_shoff = image_size - 1;
	memcpy(f, &eh, sizeof eh);
	assert_false(elf_symbolize(f, image_size, symbol("entry"), out, sizeof(out)));
	eh = header(image);
	eh.e_shentsize = 32;
	memcpy(f, &eh, sizeof eh);
	assert_false(elf_symbolize(f, image_size, symbol("entry"), out, sizeof(out)));
	assert_string_equal(out, "?");
	/* Below every function: no symbol. */
	assert_false(elf_symbolize(image, image_size, 0, out, sizeof(out)));
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_offsets),
		cmocka_unit_test(test_symbol_value),
		cmocka_unit_test(test_odd_shoff),
		cmocka_unit_test(test_odd_address),
		cmocka_unit_test(test_control_bytes_in_name),
		cmocka_unit_test(test_no_symbols),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
