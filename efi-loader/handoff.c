/*
 * Leaving the firmware: take the final memory map, convert it into the
 * bootinfo, ExitBootServices, and jump to the kernel per the entry contract
 * in bootinfo.h. Between the last GetMemoryMap and ExitBootServices nothing
 * may allocate (that would change the map key), so the map buffer is sized
 * with slack up front and the conversion only writes into the bootinfo.
 */
#include "loader.h"
#include "memmap.h"

/* Descriptors of room for the map buffer's own allocation and later changes. */
#define MAP_SLACK  16
#define EXIT_TRIES 8

/* Entry contract: %rdi = bootinfo, interrupts off, UEFI's identity map in force. */
static void __attribute__((noreturn)) enter_kernel(uint64_t entry, const struct bootinfo *bi)
{
	__asm__ volatile("jmp *%0" : : "r"(entry), "D"(bi) : "memory");
	__builtin_unreachable();
}

static EFI_STATUS map_alloc(UINTN *cap, EFI_PHYSICAL_ADDRESS *buf)
{
	UINTN size = 0, key, desc_size;
	UINT32 desc_version;
	EFI_STATUS s = efi_bs->GetMemoryMap(&size, NULL, &key, &desc_size, &desc_version);
	if (s != EFI_BUFFER_TOO_SMALL)
		return con_fail(s == EFI_SUCCESS ? EFI_DEVICE_ERROR : s, "memory map",
				"cannot get its size (%s)", text_status(s));
	*cap = size + MAP_SLACK * desc_size;
	s = pages_alloc(*cap, EfiLoaderData, buf);
	if (s != EFI_SUCCESS)
		return con_fail(s, "memory map", "cannot allocate %llu bytes (%s)",
				(unsigned long long)*cap, text_status(s));
	return EFI_SUCCESS;
}

EFI_STATUS handoff(EFI_HANDLE image, struct bootinfo *bi, uint64_t entry)
{
	EFI_PHYSICAL_ADDRESS buf;
	UINTN cap = 0, size, key, desc_size;
	UINT32 desc_version;

	EFI_STATUS s = map_alloc(&cap, &buf);
	if (s != EFI_SUCCESS)
		return s;
	for (int tries = 0;; tries++) {
		if (tries == EXIT_TRIES) {
			s = con_fail(EFI_INVALID_PARAMETER, "ExitBootServices",
				     "memory map key still stale after %d tries", EXIT_TRIES);
			break;
		}
		size = cap;
		s = efi_bs->GetMemoryMap(&size, (EFI_MEMORY_DESCRIPTOR *)(UINTN)buf, &key,
					 &desc_size, &desc_version);
		if (s != EFI_SUCCESS) {
			con_fail(s, "memory map", "GetMemoryMap failed (%s)", text_status(s));
			break;
		}
		if (memmap_from_efi(bi, (const void *)(UINTN)buf, size, desc_size,
				    bi->kernel_phys_start, bi->kernel_phys_end) != 0) {
			s = con_fail(EFI_BUFFER_TOO_SMALL, "memory map",
				     "malformed, or more than %u entries", BOOTINFO_MAX_MEM);
			break;
		}
		/* UEFI 2.10 7.4.6: a stale key gives EFI_INVALID_PARAMETER; fetch the map again. */
		s = efi_bs->ExitBootServices(image, key);
		if (s == EFI_SUCCESS) {
			/* The firmware's interrupt handlers must not run from here on. */
			__asm__ volatile("cli" : : : "memory");
			con_boot_services_gone();
			con_line("efi-loader: boot services exited, %u memory ranges; entering the "
				 "kernel at 0x%llx with bootinfo at 0x%llx",
				 bi->mem_count, (unsigned long long)entry,
				 (unsigned long long)(UINTN)bi);
			enter_kernel(entry, bi);
		}
		/*
		 * After a failed ExitBootServices only the memory allocation
		 * services may be used, so ConOut is off limits from here on.
		 */
		con_boot_services_gone();
		if (s != EFI_INVALID_PARAMETER) {
			con_fail(s, "ExitBootServices", "failed (%s)", text_status(s));
			break;
		}
	}
	pages_free(buf, cap);
	return s;
}
