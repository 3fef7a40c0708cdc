/*
 * Host tests for efi-loader/memmap.c: EFI memory types to bootinfo types,
 * the firmware's descriptor stride, unsorted and adjacent descriptors, the
 * kernel carve, and maps that do not fit.
 */
#include "../../efi-loader/memmap.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define PAGE   0x1000ULL
#define STRIDE 48 /* OVMF's descriptor size: larger than the struct */

static uint8_t map[512 * STRIDE];
static size_t map_len;

static void add(uint32_t type, uint64_t base, uint64_t pages)
{
	struct efi_mem_desc d = {.type = type, .phys_start = base, .pages = pages};
	memset(map + map_len, 0xee, STRIDE); /* the padding must be ignored */
	memcpy(map + map_len, &d, sizeof(d));
	map_len += STRIDE;
}

static struct bootinfo *convert(int expect, uint64_t kstart, uint64_t kend)
{
	struct bootinfo *bi = malloc(sizeof(*bi));
	assert_non_null(bi);
	bootinfo_init(bi, BOOTINFO_FW_UEFI);
	assert_int_equal(memmap_from_efi(bi, map, map_len, STRIDE, kstart, kend), expect);
	return bi;
}

static void expect_entry(const struct bootinfo *bi, unsigned i, uint64_t base, uint64_t end,
			 uint32_t type)
{
	assert_true(i < bi->mem_count);
	assert_int_equal(bi->mem[i].base, base);
	assert_int_equal(bi->mem[i].base + bi->mem[i].length, end);
	assert_int_equal(bi->mem[i].type, type);
}

static void setup_map(void)
{
	memset(map, 0, sizeof(map));
	map_len = 0;
}

static void test_types(void **state)
{
	(void)state;
	assert_int_equal(memmap_type(EFI_MEM_CONVENTIONAL), BOOTINFO_MEM_USABLE);
	assert_int_equal(memmap_type(EFI_MEM_BOOT_CODE), BOOTINFO_MEM_USABLE);
	assert_int_equal(memmap_type(EFI_MEM_BOOT_DATA), BOOTINFO_MEM_USABLE);
	assert_int_equal(memmap_type(EFI_MEM_LOADER_CODE), BOOTINFO_MEM_USABLE);
	assert_int_equal(memmap_type(EFI_MEM_LOADER_DATA), BOOTINFO_MEM_LOADER);
	assert_int_equal(memmap_type(EFI_MEM_ACPI_RECLAIM), BOOTINFO_MEM_ACPI_RECLAIM);
	assert_int_equal(memmap_type(EFI_MEM_ACPI_NVS), BOOTINFO_MEM_ACPI_NVS);
	assert_int_equal(memmap_type(EFI_MEM_UNUSABLE), BOOTINFO_MEM_BAD);
	assert_int_equal(memmap_type(EFI_MEM_MMIO), 0);
	assert_int_equal(memmap_type(EFI_MEM_MMIO_PORT), 0);
	assert_int_equal(memmap_type(EFI_MEM_RESERVED), BOOTINFO_MEM_RESERVED);
	assert_int_equal(memmap_type(EFI_MEM_RUNTIME_CODE), BOOTINFO_MEM_RESERVED);
	assert_int_equal(memmap_type(EFI_MEM_RUNTIME_DATA), BOOTINFO_MEM_RESERVED);
	assert_int_equal(memmap_type(EFI_MEM_PAL_CODE), BOOTINFO_MEM_RESERVED);
	assert_int_equal(memmap_type(EFI_MEM_PERSISTENT), BOOTINFO_MEM_RESERVED);
	assert_int_equal(memmap_type(0x70000000), BOOTINFO_MEM_RESERVED); /* OEM range */
}

/* A map shaped like OVMF's: out of order, adjacent usable pieces, MMIO, a hole. */
static void test_ovmf_like(void **state)
{
	(void)state;
	setup_map();
	add(EFI_MEM_BOOT_CODE, 0x0, 1);
	add(EFI_MEM_CONVENTIONAL, 0x1000, 0x9f);
	add(EFI_MEM_ACPI_NVS, 0x800000, 8);
	add(EFI_MEM_CONVENTIONAL, 0x100000, 0x600);
	add(EFI_MEM_LOADER_DATA, 0x700000, 4); /* the kernel's pages */
	add(EFI_MEM_CONVENTIONAL, 0x704000, 0xfc);
	add(EFI_MEM_MMIO, 0xffc00000, 0x400);
	add(EFI_MEM_RUNTIME_DATA, 0x1f000000, 0x10);
	add(EFI_MEM_ACPI_RECLAIM, 0x1f010000, 2);
	add(EFI_MEM_LOADER_CODE, 0x1e000000, 0x20);
	add(EFI_MEM_CONVENTIONAL, 0x900000, 0); /* empty: ignored */
	struct bootinfo *bi = convert(0, 0x700000, 0x703008);
	expect_entry(bi, 0, 0x0, 0xa0000, BOOTINFO_MEM_USABLE);
	expect_entry(bi, 1, 0x100000, 0x700000, BOOTINFO_MEM_USABLE);
	expect_entry(bi, 2, 0x700000, 0x704000, BOOTINFO_MEM_KERNEL); /* rounded up to pages */
	expect_entry(bi, 3, 0x704000, 0x800000, BOOTINFO_MEM_USABLE);
	expect_entry(bi, 4, 0x800000, 0x808000, BOOTINFO_MEM_ACPI_NVS);
	expect_entry(bi, 5, 0x1e000000, 0x1e020000, BOOTINFO_MEM_USABLE);
	expect_entry(bi, 6, 0x1f000000, 0x1f010000, BOOTINFO_MEM_RESERVED);
	expect_entry(bi, 7, 0x1f010000, 0x1f012000, BOOTINFO_MEM_ACPI_RECLAIM);
	assert_int_equal(bi->mem_count, 8);

	/* Converting again (after a stale map key) starts from scratch. */
	assert_int_equal(memmap_from_efi(bi, map, map_len, STRIDE, 0x700000, 0x703008), 0);
	assert_int_equal(bi->mem_count, 8);
	free(bi);
}

static void test_loader_data_kept(void **state)
{
	(void)state;
	setup_map();
	add(EFI_MEM_CONVENTIONAL, 0x100000, 0x100);
	add(EFI_MEM_LOADER_DATA, 0x200000, 3); /* bootinfo */
	add(EFI_MEM_CONVENTIONAL, 0x203000, 0x10);
	struct bootinfo *bi = convert(0, 0, 0); /* no kernel range: nothing carved */
	assert_int_equal(bi->mem_count, 3);
	expect_entry(bi, 0, 0x100000, 0x200000, BOOTINFO_MEM_USABLE);
	expect_entry(bi, 1, 0x200000, 0x203000, BOOTINFO_MEM_LOADER);
	expect_entry(bi, 2, 0x203000, 0x213000, BOOTINFO_MEM_USABLE);
	free(bi);
}

static void test_too_many_entries(void **state)
{
	(void)state;
	setup_map();
	for (unsigned i = 0; i < BOOTINFO_MAX_MEM + 1; i++)
		add(i % 2 ? EFI_MEM_RESERVED : EFI_MEM_CONVENTIONAL, i * PAGE, 1);
	free(convert(-1, 0, 0));

	/* Exactly full, then the kernel carve needs one more. */
	setup_map();
	for (unsigned i = 0; i < BOOTINFO_MAX_MEM; i++)
		add(i % 2 ? EFI_MEM_RESERVED : EFI_MEM_CONVENTIONAL, 2 * i * PAGE, 1);
	free(convert(0, 0, 0));
	free(convert(-1, (2 * BOOTINFO_MAX_MEM + 4) * PAGE, (2 * BOOTINFO_MAX_MEM + 5) * PAGE));
}

static void test_malformed(void **state)
{
	(void)state;
	struct bootinfo *bi = malloc(sizeof(*bi));
	assert_non_null(bi);
	bootinfo_init(bi, BOOTINFO_FW_UEFI);
	setup_map();
	add(EFI_MEM_CONVENTIONAL, 0x100000, 1);
	assert_int_equal(memmap_from_efi(bi, map, map_len, 32, 0, 0), -1); /* stride too small */
	setup_map();
	add(EFI_MEM_CONVENTIONAL, UINT64_MAX - 0xfff, 2); /* wraps */
	assert_int_equal(memmap_from_efi(bi, map, map_len, STRIDE, 0, 0), -1);
	setup_map();
	add(EFI_MEM_CONVENTIONAL, 0x100000, 1);
	/* A trailing partial descriptor is not read. */
	assert_int_equal(memmap_from_efi(bi, map, map_len + STRIDE / 2, STRIDE, 0, 0), 0);
	assert_int_equal(bi->mem_count, 1);
	free(bi);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_ovmf_like),
		cmocka_unit_test(test_loader_data_kept),
		cmocka_unit_test(test_too_many_entries),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
