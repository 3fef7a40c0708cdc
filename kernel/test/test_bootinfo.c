/*
 * Host tests for kernel/lib/bootinfo.c: the memory-map carve (splitting,
 * merging, precedence, a full table) checked case by case and against a
 * byte-painting model, the module table and the command line.
 */
#include <maple/bootinfo.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define U BOOTINFO_MEM_USABLE
#define A BOOTINFO_MEM_ACPI_RECLAIM
#define L BOOTINFO_MEM_LOADER
#define K BOOTINFO_MEM_KERNEL
#define N BOOTINFO_MEM_ACPI_NVS
#define R BOOTINFO_MEM_RESERVED
#define B BOOTINFO_MEM_BAD

static struct bootinfo *new_bootinfo(void)
{
	struct bootinfo *bi = malloc(sizeof(*bi));
	assert_non_null(bi);
	bootinfo_init(bi, BOOTINFO_FW_UEFI);
	return bi;
}

struct span {
	uint64_t base, end;
	uint32_t type;
};

static void expect_map(const struct bootinfo *bi, const struct span *want, size_t n)
{
	assert_int_equal(bi->mem_count, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(bi->mem[i].base, want[i].base);
		assert_int_equal(bi->mem[i].base + bi->mem[i].length, want[i].end);
		assert_int_equal(bi->mem[i].type, want[i].type);
	}
}

/* EXPECT_MAP(bi, {base, end, type}, ...): exactly these entries, in order. */
#define EXPECT_MAP(bi, ...)                                                                        \
	expect_map(bi, (const struct span[]){__VA_ARGS__},                                         \
		   sizeof((const struct span[]){__VA_ARGS__}) / sizeof(struct span))

static void carve(struct bootinfo *bi, uint64_t base, uint64_t end, uint32_t type)
{
	assert_int_equal(bootinfo_mem_carve(bi, base, end - base, type), 0);
}

static void test_init(void **state)
{
	(void)state;
	struct bootinfo *bi = malloc(sizeof(*bi));
	assert_non_null(bi);
	memset(bi, 0xa5, sizeof(*bi));
	bootinfo_init(bi, BOOTINFO_FW_BIOS);
	assert_int_equal(bi->magic, BOOTINFO_MAGIC);
	assert_memory_equal(&bi->magic, "MPLEBOOT", 8);
	assert_int_equal(bi->version, BOOTINFO_VERSION);
	assert_int_equal(bi->firmware, BOOTINFO_FW_BIOS);
	assert_int_equal(bi->mem_count, 0);
	assert_int_equal(bi->module_count, 0);
	assert_int_equal(bi->rsdp, 0);
	assert_string_equal(bi->cmdline, "");
	assert_int_equal(bi->fb.base, 0);
	const unsigned char *p = (const unsigned char *)bi;
	for (size_t i = 16; i < sizeof(*bi); i++)
		assert_int_equal(p[i], 0);
	free(bi);
}

static void test_carve_basic(void **state)
{
	(void)state;
	struct bootinfo *bi = new_bootinfo();
	carve(bi, 0x1000, 0x5000, U);
	EXPECT_MAP(bi, {0x1000, 0x5000, U});
	assert_int_equal(bootinfo_mem_carve(bi, 0x9000, 0, R), 0); /* empty: no-op */
	EXPECT_MAP(bi, {0x1000, 0x5000, U});
	carve(bi, 0x8000, 0x9000, R); /* disjoint, after */
	carve(bi, 0x0, 0x800, A);     /* disjoint, before */
	EXPECT_MAP(bi, {0x0, 0x800, A}, {0x1000, 0x5000, U}, {0x8000, 0x9000, R});
	free(bi);
}

static void test_carve_split(void **state)
{
	(void)state;
	struct bootinfo *bi = new_bootinfo();
	carve(bi, 0, 100, U);
	carve(bi, 40, 60, K); /* strictly inside a lower entry */
	EXPECT_MAP(bi, {0, 40, U}, {40, 60, K}, {60, 100, U});
	carve(bi, 0, 10, L);   /* at the left edge */
	carve(bi, 90, 100, L); /* at the right edge */
	EXPECT_MAP(bi, {0, 10, L}, {10, 40, U}, {40, 60, K}, {60, 90, U}, {90, 100, L});
	free(bi);
}

static void test_carve_merge(void **state)
{
	(void)state;
	struct bootinfo *bi = new_bootinfo();
	carve(bi, 0, 10, U);
	carve(bi, 20, 30, U);
	carve(bi, 10, 20, U); /* fills the hole exactly: three become one */
	EXPECT_MAP(bi, {0, 30, U});
	carve(bi, 30, 40, U); /* touching on the right */
	carve(bi, 50, 60, U);
	carve(bi, 45, 50, U); /* touching on the left of an entry */
	EXPECT_MAP(bi, {0, 40, U}, {45, 60, U});
	carve(bi, 35, 55, U); /* overlapping both */
	EXPECT_MAP(bi, {0, 60, U});
	carve(bi, 60, 70, R); /* touching but another type: no merge */
	EXPECT_MAP(bi, {0, 60, U}, {60, 70, R});
	free(bi);
}

static void test_carve_precedence(void **state)
{
	(void)state;
	struct bootinfo *bi = new_bootinfo();
	carve(bi, 40, 60, R);
	carve(bi, 0, 100, U); /* lower: flows around the reserved entry */
	EXPECT_MAP(bi, {0, 40, U}, {40, 60, R}, {60, 100, U});
	carve(bi, 50, 150, K); /* higher than usable, lower than reserved */
	EXPECT_MAP(bi, {0, 40, U}, {40, 60, R}, {60, 150, K});
	free(bi);
}

static void test_carve_swallow(void **state)
{
	(void)state;
	struct bootinfo *bi = new_bootinfo();
	carve(bi, 0, 10, U);
	carve(bi, 20, 30, A);
	carve(bi, 30, 40, B);
	carve(bi, 45, 50, U);
	carve(bi, 60, 80, U);
	carve(bi, 5, 70, L); /* trims the ends, swallows the lower ones, keeps BAD */
	EXPECT_MAP(bi, {0, 5, U}, {5, 30, L}, {30, 40, B}, {40, 70, L}, {70, 80, U});
	carve(bi, 0, 100, B); /* everything becomes BAD, one entry */
	EXPECT_MAP(bi, {0, 100, B});
	free(bi);
}

static void test_carve_same_type_kept(void **state)
{
	(void)state;
	struct bootinfo *bi = new_bootinfo();
	carve(bi, 0, 10, L);
	carve(bi, 20, 30, L);
	carve(bi, 5, 25, L); /* joins two entries of its own type through the hole */
	EXPECT_MAP(bi, {0, 30, L});
	carve(bi, 10, 20, L); /* inside: nothing changes */
	carve(bi, 10, 20, U); /* lower inside: nothing changes */
	EXPECT_MAP(bi, {0, 30, L});
	free(bi);
}

static void test_carve_top_of_memory(void **state)
{
	(void)state;
	struct bootinfo *bi = new_bootinfo();
	assert_int_equal(bootinfo_mem_carve(bi, UINT64_MAX - 0xfff, 0x10000, R), 0);
	EXPECT_MAP(bi, {UINT64_MAX - 0xfff, UINT64_MAX, R});
	assert_int_equal(bootinfo_mem_carve(bi, 0, UINT64_MAX, U), 0);
	EXPECT_MAP(bi, {0, UINT64_MAX - 0xfff, U}, {UINT64_MAX - 0xfff, UINT64_MAX, R});
	assert_int_equal(bootinfo_mem_carve(bi, UINT64_MAX, 1, B), 0); /* clipped to nothing */
	assert_int_equal(bi->mem_count, 2);
	free(bi);
}

/* A full map: entries [20i, 20i+10) alternating usable and reserved. */
static struct bootinfo *full_map(void)
{
	struct bootinfo *bi = new_bootinfo();
	for (unsigned i = 0; i < BOOTINFO_MAX_MEM; i++)
		carve(bi, 20 * i, 20 * i + 10, i % 2 ? R : U);
	assert_int_equal(bi->mem_count, BOOTINFO_MAX_MEM);
	return bi;
}

static void expect_carve_fails(struct bootinfo *bi, uint64_t base, uint64_t end, uint32_t type)
{
	struct bootinfo *before = malloc(sizeof(*before));
	assert_non_null(before);
	memcpy(before, bi, sizeof(*bi));
	assert_int_equal(bootinfo_mem_carve(bi, base, end - base, type), -1);
	assert_memory_equal(before, bi, sizeof(*bi));
	free(before);
}

static void test_carve_table_full(void **state)
{
	(void)state;
	struct bootinfo *bi = full_map();
	uint64_t top = 20 * BOOTINFO_MAX_MEM;
	expect_carve_fails(bi, top, top + 10, U); /* a new disjoint entry */
	expect_carve_fails(bi, 2, 4, K);	  /* a split inside an entry */
	expect_carve_fails(bi, 5, 15, K);	  /* trim one side + a new entry */
	expect_carve_fails(bi, 12, 18, K);	  /* one hole */
	/* Carves that do not grow the map still work when it is full. */
	carve(bi, top - 10, top + 10, R); /* extends the last entry */
	carve(bi, 10, 20, U);		  /* extends the first entry */
	assert_int_equal(bi->mem_count, BOOTINFO_MAX_MEM);
	expect_carve_fails(bi, top + 20, top + 30, U);
	free(bi);

	bi = new_bootinfo();
	for (unsigned i = 0; i < BOOTINFO_MAX_MEM - 1; i++)
		carve(bi, 20 * i, 20 * i + 10, U);
	expect_carve_fails(bi, 2, 4, K); /* a split needs two more entries */
	carve(bi, 10, 20, U);		 /* joins two: frees one */
	assert_int_equal(bi->mem_count, BOOTINFO_MAX_MEM - 2);
	carve(bi, 2, 4, K);
	assert_int_equal(bi->mem_count, BOOTINFO_MAX_MEM);
	free(bi);
}

/*
 * A full map where the carve adds one entry in one hole and removes one by
 * joining two entries in another: it fits, but only if the join happens
 * before the insertion.
 */
static void test_carve_full_net_zero(void **state)
{
	(void)state;
	struct bootinfo *bi = new_bootinfo();
	carve(bi, 0, 10, R);
	carve(bi, 20, 30, B);
	carve(bi, 30, 40, L);
	carve(bi, 50, 60, L);
	for (unsigned i = 4; i < BOOTINFO_MAX_MEM; i++)
		carve(bi, 100 + 20 * i, 100 + 20 * i + 10, i % 2 ? R : U);
	assert_int_equal(bi->mem_count, BOOTINFO_MAX_MEM);
	carve(bi, 10, 50, L);
	assert_int_equal(bi->mem_count, BOOTINFO_MAX_MEM);
	assert_int_equal(bi->mem[1].base, 10);
	assert_int_equal(bi->mem[1].length, 10);
	assert_int_equal(bi->mem[1].type, L);
	assert_int_equal(bi->mem[3].base, 30);
	assert_int_equal(bi->mem[3].length, 30);
	assert_int_equal(bi->mem[3].type, L);
	free(bi);
}

/*
 * Random carves over a small address space compared with painting each
 * byte with the highest type that covers it; the second run starts from a
 * nearly full map, where a carve must fail, leaving the map as it was,
 * exactly when the painted result needs more than BOOTINFO_MAX_MEM entries.
 */
#define MODEL_SIZE 1024

static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 16;
}

/* The painted bytes as the map bootinfo_mem_carve should produce. */
static unsigned model_map(const uint8_t *paint, struct span *out)
{
	unsigned n = 0;
	for (uint64_t x = 0; x < MODEL_SIZE;) {
		uint64_t end = x;
		while (end < MODEL_SIZE && paint[end] == paint[x])
			end++;
		if (paint[x]) {
			if (n < BOOTINFO_MAX_MEM + 8)
				out[n] = (struct span){x, end, paint[x]};
			n++;
		}
		x = end;
	}
	return n;
}

static void model_carve(struct bootinfo *bi, uint8_t *paint, uint64_t base, uint64_t len,
			uint32_t type)
{
	static struct span want[BOOTINFO_MAX_MEM + 8];
	static uint8_t next[MODEL_SIZE];
	memcpy(next, paint, MODEL_SIZE);
	for (uint64_t x = base; x < base + len; x++)
		if (next[x] < type)
			next[x] = (uint8_t)type;
	unsigned n = model_map(next, want);
	if (n > BOOTINFO_MAX_MEM) {
		expect_carve_fails(bi, base, base + len, type);
		return;
	}
	carve(bi, base, base + len, type);
	expect_map(bi, want, n);
	memcpy(paint, next, MODEL_SIZE);
}

static void run_model(uint32_t seed, unsigned prefill, unsigned maxlen)
{
	for (int round = 0; round < 300; round++) {
		struct bootinfo *bi = new_bootinfo();
		uint8_t paint[MODEL_SIZE] = {0};
		for (unsigned i = 0; i < prefill; i++)
			model_carve(bi, paint, 4 * i, 1 + lcg(&seed) % 3, 1 + lcg(&seed) % 7);
		for (int c = 0; c < 40; c++) {
			uint64_t base = lcg(&seed) % MODEL_SIZE;
			uint64_t room = MODEL_SIZE - base;
			uint64_t len = lcg(&seed) % (room < maxlen ? room + 1 : maxlen + 1);
			model_carve(bi, paint, base, len, 1 + lcg(&seed) % 7);
		}
		free(bi);
	}
}

static void test_carve_model(void **state)
{
	(void)state;
	run_model(12345, 0, MODEL_SIZE);
	run_model(777, BOOTINFO_MAX_MEM - 3, 16);
}

static void test_modules(void **state)
{
	(void)state;
	struct bootinfo *bi = new_bootinfo();
	char name[16];
	for (unsigned i = 0; i < BOOTINFO_MAX_MODULES; i++) {
		snprintf(name, sizeof(name), "mod%u.elf", i);
		assert_int_equal(bootinfo_add_module(bi, name, 0x200000 + i * 0x1000, i), 0);
	}
	assert_int_equal(bootinfo_add_module(bi, "extra", 0x1000, 1), -1);
	assert_int_equal(bi->module_count, BOOTINFO_MAX_MODULES);
	assert_string_equal(bi->modules[0].name, "mod0.elf");
	assert_string_equal(bi->modules[31].name, "mod31.elf");
	assert_int_equal(bi->modules[31].base, 0x200000 + 31 * 0x1000);
	assert_int_equal(bi->modules[31].size, 31);
	free(bi);

	bi = new_bootinfo();
	char longname[100];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(bootinfo_add_module(bi, longname, 0, 0), 0);
	assert_int_equal(strlen(bi->modules[0].name), BOOTINFO_NAME_MAX - 1);
	free(bi);
}

static void test_cmdline(void **state)
{
	(void)state;
	struct bootinfo *bi = new_bootinfo();
	bootinfo_set_cmdline(bi, "console=com1 test=all");
	assert_string_equal(bi->cmdline, "console=com1 test=all");
	bootinfo_set_cmdline(bi, "");
	assert_string_equal(bi->cmdline, "");

	char big[BOOTINFO_CMDLINE_MAX + 100];
	for (size_t i = 0; i < sizeof(big) - 1; i++)
		big[i] = 'a' + i % 26;
	big[sizeof(big) - 1] = '\0';
	bootinfo_set_cmdline(bi, big);
	assert_int_equal(strlen(bi->cmdline), BOOTINFO_CMDLINE_MAX - 1);
	assert_memory_equal(bi->cmdline, big, BOOTINFO_CMDLINE_MAX - 1);
	big[BOOTINFO_CMDLINE_MAX - 1] = '\0'; /* exactly the maximum fits whole */
	bootinfo_set_cmdline(bi, big);
	assert_string_equal(bi->cmdline, big);
	free(bi);
}

static void test_type_names(void **state)
{
	(void)state;
	assert_string_equal(bootinfo_mem_type_name(U), "usable");
	assert_string_equal(bootinfo_mem_type_name(A), "acpi-reclaim");
	assert_string_equal(bootinfo_mem_type_name(L), "loader");
	assert_string_equal(bootinfo_mem_type_name(K), "kernel");
	assert_string_equal(bootinfo_mem_type_name(N), "acpi-nvs");
	assert_string_equal(bootinfo_mem_type_name(R), "reserved");
	assert_string_equal(bootinfo_mem_type_name(B), "bad");
	assert_string_equal(bootinfo_mem_type_name(0), "unknown");
	assert_string_equal(bootinfo_mem_type_name(99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_carve_basic),
		cmocka_unit_test(test_carve_split),
		cmocka_unit_test(test_carve_merge),
		cmocka_unit_test(test_carve_precedence),
		cmocka_unit_test(test_carve_swallow),
		cmocka_unit_test(test_carve_same_type_kept),
		cmocka_unit_test(test_carve_top_of_memory),
		cmocka_unit_test(test_carve_table_full),
		cmocka_unit_test(test_carve_full_net_zero),
		cmocka_unit_test(test_carve_model),
		cmocka_unit_test(test_modules),
		cmocka_unit_test(test_cmdline),
		cmocka_unit_test(test_type_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
