/*
 * Turning the UEFI memory map into bootinfo memory entries. Portable (no
 * efi.h) so the host tests can run it: the descriptor layout and type
 * values are repeated here from UEFI 2.10 7.2.3 (EFI_MEMORY_DESCRIPTOR) and
 * 7.2.1 (EFI_MEMORY_TYPE).
 */
#ifndef EFI_LOADER_MEMMAP_H
#define EFI_LOADER_MEMMAP_H

#include <maple/bootinfo.h>
#include <stddef.h>
#include <stdint.h>

enum efi_mem_type {
	EFI_MEM_RESERVED = 0,
	EFI_MEM_LOADER_CODE = 1,
	EFI_MEM_LOADER_DATA = 2,
	EFI_MEM_BOOT_CODE = 3,
	EFI_MEM_BOOT_DATA = 4,
	EFI_MEM_RUNTIME_CODE = 5,
	EFI_MEM_RUNTIME_DATA = 6,
	EFI_MEM_CONVENTIONAL = 7,
	EFI_MEM_UNUSABLE = 8,
	EFI_MEM_ACPI_RECLAIM = 9,
	EFI_MEM_ACPI_NVS = 10,
	EFI_MEM_MMIO = 11,
	EFI_MEM_MMIO_PORT = 12,
	EFI_MEM_PAL_CODE = 13,
	EFI_MEM_PERSISTENT = 14,
};

#define EFI_MEM_PAGE_SIZE 4096ULL

struct efi_mem_desc {
	uint32_t type; /* enum efi_mem_type */
	uint32_t pad;
	uint64_t phys_start;
	uint64_t virt_start;
	uint64_t pages;
	uint64_t attribute;
};
_Static_assert(offsetof(struct efi_mem_desc, phys_start) == 8, "layout");
_Static_assert(offsetof(struct efi_mem_desc, virt_start) == 16, "layout");
_Static_assert(offsetof(struct efi_mem_desc, pages) == 24, "layout");
_Static_assert(offsetof(struct efi_mem_desc, attribute) == 32, "layout");
_Static_assert(sizeof(struct efi_mem_desc) == 40, "layout");

/*
 * The bootinfo type for an EFI memory type, or 0 for memory-mapped I/O,
 * which is not RAM and is left out of the map.
 */
uint32_t memmap_type(uint32_t efi_type);

/*
 * Replace bi->mem with the map of `map_size` bytes of descriptors spaced
 * `desc_size` apart (the firmware's stride, which may exceed sizeof(struct
 * efi_mem_desc)), then mark the pages of [kernel_start, kernel_end) as the
 * kernel.
 * Returns 0, or -1 when bi->mem overflows or a descriptor is malformed.
 */
int memmap_from_efi(struct bootinfo *bi, const void *map, size_t map_size, size_t desc_size,
		    uint64_t kernel_start, uint64_t kernel_end);

#endif
