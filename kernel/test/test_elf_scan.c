/*
 * Host tests for elf_check's scan of a domain's executable bytes for
 * WRPKRU, XRSTOR, XRSTORS, WRFSBASE and WRGSBASE at every byte offset: each encoding and its
 * harmless look-alikes, sequences hidden inside other instructions, and
 * sequences split between segments that do or do not meet in memory.
 */
#include "support/elf_image.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* Writes the bytes that follow `off` into img at file offset `off`. */
#define PUT(off, ...)                                                                              \
	do {                                                                                       \
		const uint8_t bytes_[] = {__VA_ARGS__};                                            \
		memcpy(img + (off), bytes_, sizeof(bytes_));                                       \
	} while (0)

static void expect_forbidden(const char *name, uint8_t opcode, uint8_t modrm, uint64_t off,
			     unsigned seg)
{
	char msg[160];
	snprintf(msg, sizeof(msg),
		 "forbidden instruction %s (0f %02x %02x) at file offset 0x%llx (segment %u)", name,
		 opcode, modrm, (unsigned long long)off, seg);
	expect_domain_reject(msg);
}

static void expect_clean(void)
{
	struct elf_info info;
	expect_domain_accept(&info);
}

static void test_wrpkru(void **state)
{
	(void)state;
	make_domain();
	PUT(0x1000, 0x0f, 0x01, 0xef);
	expect_domain_reject("forbidden instruction WRPKRU (0f 01 ef) at file offset 0x1000 "
			     "(segment 0)");
	make_domain();
	PUT(0x1233, 0xb8, 0x0f, 0x01, 0xef, 0x00); /* mov $0xef010f, %eax */
	expect_domain_reject("forbidden instruction WRPKRU (0f 01 ef) at file offset 0x1234 "
			     "(segment 0)");
	make_domain();
	PUT(0x1100, 0x0f, 0x0f, 0x01, 0xef); /* a 0F that starts nothing, then the real one */
	expect_forbidden("WRPKRU", 0x01, 0xef, 0x1101, 0);
}

/* WRGSBASE would let a domain choose where the gate reads its GATE_RO page
 * on the linux platform; WRFSBASE, the runtime's thread pointer. */
static void test_fsgsbase(void **state)
{
	(void)state;
	make_domain();
	PUT(0x1100, 0xf3, 0x48, 0x0f, 0xae, 0xd8); /* wrgsbase %rax */
	expect_forbidden("WRGSBASE", 0xae, 0xd8, 0x1102, 0);
	make_domain();
	PUT(0x1100, 0xf3, 0x0f, 0xae, 0xd7); /* wrfsbase %edi */
	expect_forbidden("WRFSBASE", 0xae, 0xd7, 0x1101, 0);
	make_domain();
	PUT(0x1100, 0xf3, 0x48, 0x0f, 0xae, 0xc0); /* rdfsbase %rax: reading is harmless */
	PUT(0x1105, 0xf3, 0x48, 0x0f, 0xae, 0xc8); /* rdgsbase %rax */
	expect_clean();
}

static void test_xrstor(void **state)
{
	(void)state;
	make_domain();
	PUT(0x1001, 0x0f, 0xae, 0x2f); /* xrstor (%rdi) */
	expect_domain_reject("forbidden instruction XRSTOR (0f ae 2f) at file offset 0x1001 "
			     "(segment 0)");
	make_domain();
	PUT(0x1100, 0x48, 0x0f, 0xae, 0x28); /* xrstor64 (%rax): REX.W in front of the core */
	expect_forbidden("XRSTOR", 0xae, 0x28, 0x1101, 0);
	make_domain();
	PUT(0x1100, 0x0f, 0xae, 0x6f, 0x10); /* xrstor 0x10(%rdi) */
	expect_forbidden("XRSTOR", 0xae, 0x6f, 0x1100, 0);
	make_domain();
	PUT(0x1100, 0x0f, 0xae, 0xac, 0x24, 0x00, 0x01, 0x00, 0x00); /* xrstor 0x100(%rsp) */
	expect_forbidden("XRSTOR", 0xae, 0xac, 0x1100, 0);
	make_domain();
	PUT(0x1100, 0x0f, 0xae, 0x2d, 0x00, 0x00, 0x00, 0x00); /* xrstor 0(%rip) */
	expect_forbidden("XRSTOR", 0xae, 0x2d, 0x1100, 0);
}

static void test_xrstors(void **state)
{
	(void)state;
	make_domain();
	PUT(0x1002, 0x0f, 0xc7, 0x1f); /* xrstors (%rdi) */
	expect_domain_reject("forbidden instruction XRSTORS (0f c7 1f) at file offset 0x1002 "
			     "(segment 0)");
	make_domain();
	PUT(0x1100, 0x48, 0x0f, 0xc7, 0x5f, 0x10); /* xrstors64 0x10(%rdi) */
	expect_forbidden("XRSTORS", 0xc7, 0x5f, 0x1101, 0);
	make_domain();
	PUT(0x1100, 0x0f, 0xc7, 0x9c, 0x24, 0x00, 0x01, 0x00, 0x00); /* xrstors 0x100(%rsp) */
	expect_forbidden("XRSTORS", 0xc7, 0x9c, 0x1100, 0);
}

static void test_lookalikes(void **state)
{
	(void)state;
	make_domain();
	for (uint8_t m = 0xe8; m <= 0xef; m++)
		PUT(0x1100 + 3 * (m - 0xe8), 0x0f, 0xae, m); /* LFENCE: /5 with mod 3 */
	PUT(0x1200, 0x0f, 0xae, 0xf0);			     /* mfence */
	PUT(0x1203, 0x0f, 0xae, 0xf8);			     /* sfence */
	PUT(0x1206, 0x0f, 0x01, 0xee);			     /* rdpkru */
	PUT(0x1209, 0x0f, 0x01, 0xd0);			     /* xgetbv */
	PUT(0x120c, 0x0f, 0xae, 0x27);			     /* xsave (%rdi) */
	PUT(0x120f, 0x0f, 0xae, 0x37);			     /* xsaveopt (%rdi) */
	PUT(0x1212, 0x0f, 0xae, 0x0f);			     /* fxrstor (%rdi) */
	PUT(0x1215, 0x0f, 0xae, 0x3f);			     /* clflush (%rdi) */
	PUT(0x1218, 0x0f, 0xc7, 0x2f);			     /* xsaves (%rdi) */
	PUT(0x121b, 0x0f, 0xc7, 0x0f);			     /* cmpxchg8b (%rdi) */
	PUT(0x121e, 0x0f, 0xc7, 0xd8);			     /* /3 with mod 3: no XRSTORS */
	PUT(0x1221, 0x0f, 0xc7, 0xf0);			     /* rdrand %eax */
	PUT(0x1224, 0x01, 0xef, 0x0f, 0xae);		     /* the bytes, out of order */
	expect_clean();
}

/* The SDM's ModRM table (Vol. 2A 2.1.5), column by column, against the scan. */
static void test_every_modrm(void **state)
{
	(void)state;
	for (unsigned m = 0; m < 256; m++) {
		bool reg5 = (m >= 0x28 && m <= 0x2f) || (m >= 0x68 && m <= 0x6f) ||
			    (m >= 0xa8 && m <= 0xaf);
		bool reg3 = (m >= 0x18 && m <= 0x1f) || (m >= 0x58 && m <= 0x5f) ||
			    (m >= 0x98 && m <= 0x9f);
		/* 0F AE: XRSTOR with memory, WRFSBASE (/2) and WRGSBASE (/3) without. */
		const char *ae = reg5			  ? "XRSTOR"
				 : m >= 0xd0 && m <= 0xd7 ? "WRFSBASE"
				 : m >= 0xd8 && m <= 0xdf ? "WRGSBASE"
							  : NULL;
		const struct {
			uint8_t opcode;
			const char *name;
			bool bad;
		} ops[] = {{0x01, "WRPKRU", m == 0xef},
			   {0xae, ae ? ae : "", ae != NULL},
			   {0xc7, "XRSTORS", reg3}};
		for (unsigned i = 0; i < 3; i++) {
			make_domain();
			PUT(0x1400, 0x0f, ops[i].opcode, m);
			if (ops[i].bad)
				expect_forbidden(ops[i].name, ops[i].opcode, m, 0x1400, 0);
			else
				expect_clean();
		}
	}
}

static void test_segment_end(void **state)
{
	(void)state;
	make_domain();
	PUT(0x17fd, 0x0f, 0x01, 0xef); /* the text's last three bytes */
	expect_forbidden("WRPKRU", 0x01, 0xef, 0x17fd, 0);
	make_domain();
	PUT(0x17fe, 0x0f, 0x01, 0xef); /* the last byte is file, not segment */
	expect_clean();
	make_domain();
	phdr(0)->p_filesz = 0x7ff; /* the last byte of the text is zero fill */
	PUT(0x17fe, 0x0f, 0x01, 0xef);
	expect_clean();
}

static void test_only_code(void **state)
{
	(void)state;
	struct elf_info info;
	struct elf_error err;
	make_domain();
	PUT(0x20e0, 0x0f, 0x01, 0xef); /* data */
	PUT(0x0800, 0x0f, 0xae, 0x2f); /* in the file, outside every segment */
	expect_clean();
	make_kernel(); /* the kernel writes PKRU itself */
	PUT(0x1100, 0x0f, 0x01, 0xef);
	assert_int_equal(elf_check(img, IMG_SIZE, ELF_KIND_KERNEL, &info, &err), 0);
}

static void test_first_reported(void **state)
{
	(void)state;
	make_domain();
	PUT(0x1400, 0x0f, 0xae, 0x2f);
	PUT(0x1300, 0x0f, 0x01, 0xef);
	expect_forbidden("WRPKRU", 0x01, 0xef, 0x1300, 0);
}

/*
 * Two executable segments: A (program header `a`) at 0x1000 with file
 * bytes 0x1000 + a_filesz and 0x1000 bytes of memory, B (the other header)
 * at b_vaddr with file bytes b_off + 0x100.
 */
static void make_two_texts(unsigned a, uint64_t a_filesz, uint64_t b_vaddr, uint64_t b_off)
{
	make_header(ET_DYN, 0x1010, 2);
	set_phdr(a, PT_LOAD, PF_R | PF_X, 0x1000, 0x1000, 0, a_filesz, 0x1000);
	set_phdr(1 - a, PT_LOAD, PF_R | PF_X, b_off, b_vaddr, 0, 0x100, 0x100);
}

static void test_split_across_segments(void **state)
{
	(void)state;
	make_two_texts(0, 0x1000, 0x2000, 0x3000); /* A ends where B starts */
	PUT(0x1ffe, 0x0f, 0x01);
	PUT(0x3000, 0xef);
	expect_domain_reject("forbidden instruction WRPKRU (0f 01 ef) at file offset 0x1ffe "
			     "(segment 0)");
	make_two_texts(0, 0x1000, 0x2000, 0x3000);
	PUT(0x1fff, 0x0f);
	PUT(0x3000, 0xae, 0x2f);
	expect_forbidden("XRSTOR", 0xae, 0x2f, 0x1fff, 0);
	make_two_texts(1, 0x1000, 0x2000, 0x3000); /* header order does not matter */
	PUT(0x1ffe, 0x0f, 0x01);
	PUT(0x3000, 0xef);
	expect_forbidden("WRPKRU", 0x01, 0xef, 0x1ffe, 1);
}

static void test_split_but_apart(void **state)
{
	(void)state;
	make_two_texts(0, 0x1000, 0x3000, 0x2000); /* adjacent in the file, not in memory */
	PUT(0x1ffe, 0x0f, 0x01);
	PUT(0x2000, 0xef);
	expect_clean();
	make_two_texts(0, 0xffe, 0x2000, 0x3000); /* adjacent, with zero fill between */
	PUT(0x1ffc, 0x0f, 0x01);
	PUT(0x1ffe, 0xef, 0xef); /* file bytes past A's: never loaded */
	PUT(0x3000, 0xef);
	expect_clean();
	make_two_texts(0, 0x1000, 0x2000, 0x3000);
	phdr(1)->p_flags = PF_R; /* B is not executable: a fetch from it faults */
	PUT(0x1ffe, 0x0f, 0x01);
	PUT(0x3000, 0xef);
	expect_clean();
	make_two_texts(0, 0x1000, 0x2000, 0x3000);
	PUT(0x30fe, 0x0f, 0x01); /* B's end, with nothing after it */
	PUT(0x3100, 0xef);
	expect_clean();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrpkru),
		cmocka_unit_test(test_fsgsbase),
		cmocka_unit_test(test_xrstor),
		cmocka_unit_test(test_xrstors),
		cmocka_unit_test(test_lookalikes),
		cmocka_unit_test(test_every_modrm),
		cmocka_unit_test(test_segment_end),
		cmocka_unit_test(test_only_code),
		cmocka_unit_test(test_first_reported),
		cmocka_unit_test(test_split_across_segments),
		cmocka_unit_test(test_split_but_apart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
