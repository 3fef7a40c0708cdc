/*
 * The UEFI memory map as bootinfo entries; see memmap.h. Boot-services and
 * loader-code memory are free once ExitBootServices has returned; loader
 * data holds the bootinfo and the modules, so it stays until the kernel has
 * read them. Runtime-services memory must never be reused (UEFI 2.10 7.2.1,
 * table "Memory Type Usage after ExitBootServices()").
 */
#include "memmap.h"

#include <lib/string.h>

uint32_t memmap_type(uint32_t efi_type)
{
	switch (efi_type) {
	case EFI_MEM_CONVENTIONAL:
	case EFI_MEM_BOOT_CODE:
	case EFI_MEM_BOOT_DATA:
	case EFI_MEM_LOADER_CODE:
		return BOOTINFO_MEM_USABLE;
	case EFI_MEM_LOADER_DATA:
		return BOOTINFO_MEM_LOADER;
	case EFI_MEM_ACPI_RECLAIM:
		return BOOTINFO_MEM_ACPI_RECLAIM;
	case EFI_MEM_ACPI_NVS:
		return BOOTINFO_MEM_ACPI_NVS;
	case EFI_MEM_UNUSABLE:
		return BOOTINFO_MEM_BAD;
	case EFI_MEM_MMIO:
	case EFI_MEM_MMIO_PORT:
		return 0;
	default:
		return BOOTINFO_MEM_RESERVED;
	}
}

int memmap_from_efi(struct bootinfo *bi, const void *map, size_t map_size, size_t desc_size,
		    uint64_t kernel_start, uint64_t kernel_end)
{
	if (desc_size < sizeof(struct efi_mem_desc))
		return -1;
	bi->mem_count = 0;
	for (size_t off = 0; off + desc_size <= map_size; off += desc_size) {
		struct efi_mem_desc d;
		memcpy(&d, (const uint8_t *)map + off, sizeof(d));
		uint32_t type = memmap_type(d.type);
		if (type == 0 || d.pages == 0)
			continue;
		if (d.pages > (UINT64_MAX - d.phys_start) / EFI_MEM_PAGE_SIZE)
			return -1;
		if (bootinfo_mem_carve(bi, d.phys_start, d.pages * EFI_MEM_PAGE_SIZE, type) != 0)
			return -1;
	}
	/* Whole pages, so nothing else can ever be handed out in the kernel's last page. */
	uint64_t kstart = kernel_start & ~(EFI_MEM_PAGE_SIZE - 1);
	uint64_t kend = (kernel_end + EFI_MEM_PAGE_SIZE - 1) & ~(EFI_MEM_PAGE_SIZE - 1);
	if (kend > kstart &&
	    bootinfo_mem_carve(bi, kstart, kend - kstart, BOOTINFO_MEM_KERNEL) != 0)
		return -1;
	return 0;
}
