/*
 * What the firmware knows that the kernel wants: the ACPI RSDP from the
 * configuration table (UEFI 2.10 4.6) and the linear framebuffer of the
 * Graphics Output Protocol (UEFI 2.10 12.9), if there is one.
 */
#include "loader.h"

#include <lib/string.h>

uint64_t sysinfo_rsdp(void)
{
	static EFI_GUID acpi20 = ACPI_20_TABLE_GUID;
	static EFI_GUID acpi10 = ACPI_TABLE_GUID;
	uint64_t rsdp1 = 0;

	for (UINTN i = 0; i < efi_st->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &efi_st->ConfigurationTable[i];
		if (memcmp(&t->VendorGuid, &acpi20, sizeof(EFI_GUID)) == 0)
			return (uint64_t)(UINTN)t->VendorTable;
		if (memcmp(&t->VendorGuid, &acpi10, sizeof(EFI_GUID)) == 0)
			rsdp1 = (uint64_t)(UINTN)t->VendorTable;
	}
	return rsdp1;
}

void sysinfo_framebuffer(struct bootinfo_fb *fb)
{
	static EFI_GUID gop_guid = EFI_GRAPHICS_OUTPUT_PROTOCOL_GUID;
	EFI_GRAPHICS_OUTPUT_PROTOCOL *gop;

	memset(fb, 0, sizeof(*fb));
	if (efi_bs->LocateProtocol(&gop_guid, NULL, (void **)&gop) != EFI_SUCCESS || !gop->Mode ||
	    !gop->Mode->Info)
		return;
	const EFI_GRAPHICS_OUTPUT_MODE_INFORMATION *mi = gop->Mode->Info;
	switch (mi->PixelFormat) {
	case PixelRedGreenBlueReserved8BitPerColor:
		fb->format = BOOTINFO_FB_RGBX;
		break;
	case PixelBlueGreenRedReserved8BitPerColor:
		fb->format = BOOTINFO_FB_BGRX;
		break;
	default:
		return; /* bit-mask layouts and blt-only devices: no usable framebuffer */
	}
	fb->base = gop->Mode->FrameBufferBase;
	fb->width = mi->HorizontalResolution;
	fb->height = mi->VerticalResolution;
	fb->bpp = 32;
	fb->pitch = mi->PixelsPerScanLine * 4;
}
