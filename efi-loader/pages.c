/*
 * Page allocations for everything the kernel receives (bootinfo, modules,
 * file buffers). They stay below 4 GiB because the kernel's first page
 * tables identity-map only that much before it has read the memory map.
 */
#include "loader.h"

#define BELOW_4G 0xffffffffULL

static UINTN page_count(UINTN bytes)
{
	return (bytes + PAGE_SIZE - 1) / PAGE_SIZE;
}

EFI_STATUS pages_alloc(UINTN bytes, EFI_MEMORY_TYPE type, EFI_PHYSICAL_ADDRESS *out)
{
	EFI_PHYSICAL_ADDRESS addr = BELOW_4G;
	/* UEFI 2.10 7.2.1: AllocateMaxAddress returns pages at or below *Memory. */
	EFI_STATUS s = efi_bs->AllocatePages(AllocateMaxAddress, type,
					     page_count(bytes ? bytes : 1), &addr);
	if (s == EFI_SUCCESS)
		*out = addr;
	return s;
}

void pages_free(EFI_PHYSICAL_ADDRESS base, UINTN bytes)
{
	if (base)
		efi_bs->FreePages(base, page_count(bytes ? bytes : 1));
}
