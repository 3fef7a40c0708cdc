/*
 * The loader thinks in ASCII and the firmware in UCS-2; this converts
 * between them and names EFI status codes for error messages.
 */
#include "loader.h"

void text_to_ucs2(CHAR16 *dst, size_t n, const char *src)
{
	size_t i = 0;
	for (; i + 1 < n && src[i]; i++)
		dst[i] = (unsigned char)src[i];
	if (n)
		dst[i] = 0;
}

bool text_from_ucs2(char *dst, size_t n, const CHAR16 *src)
{
	bool exact = true;
	size_t i = 0;
	if (n == 0)
		return false;
	for (; src[i]; i++) {
		if (i + 1 >= n) {
			exact = false;
			break;
		}
		bool printable = src[i] >= 0x20 && src[i] <= 0x7e;
		dst[i] = printable ? (char)src[i] : '?';
		exact = exact && printable;
	}
	dst[i] = '\0';
	return exact;
}

const char *text_status(EFI_STATUS status)
{
	/* UEFI 2.10 Appendix D, "Status Codes" */
	switch (status) {
	case EFI_SUCCESS:
		return "success";
	case EFI_LOAD_ERROR:
		return "load error";
	case EFI_INVALID_PARAMETER:
		return "invalid parameter";
	case EFI_UNSUPPORTED:
		return "unsupported";
	case EFI_BUFFER_TOO_SMALL:
		return "buffer too small";
	case EFI_NOT_READY:
		return "not ready";
	case EFI_DEVICE_ERROR:
		return "device error";
	case EFI_VOLUME_CORRUPTED:
		return "volume corrupted";
	case EFI_OUT_OF_RESOURCES:
		return "out of resources";
	case EFI_NO_MEDIA:
		return "no media";
	case EFI_NOT_FOUND:
		return "not found";
	case EFI_ACCESS_DENIED:
		return "access denied";
	case EFI_ABORTED:
		return "aborted";
	default:
		return "unknown error";
	}
}
