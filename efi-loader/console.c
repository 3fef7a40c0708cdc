/*
 * The loader's only output channel: one line at a time to COM1, written
 * directly so that it keeps working after ExitBootServices and so that the
 * first line goes out before anything else is done, and to every UEFI text
 * console except the one on COM1. On QEMU and most servers ConOut includes
 * a terminal on COM1, so writing to ConOut (the splitter) would print every
 * line twice on the serial log; instead each console device is written to
 * on its own.
 */
#include "loader.h"

#include <lib/fmt.h>
#include <lib/string.h>
#include <platform/pc/serial.h>

#define LINE_MAX     256
#define MAX_CONSOLES 8

/* UEFI 2.10 10.3.3: an ACPI node (type 2, subtype 1) with _HID PNP0501, _UID 0 is COM1. */
#define DP_ACPI	     2
#define DP_ACPI_NODE 1
#define DP_END	     0x7f
#define PNP0501_EISA 0x050141d0u

static SIMPLE_TEXT_OUTPUT_INTERFACE *consoles[MAX_CONSOLES];
static unsigned nconsoles;
static bool consoles_found;
static bool boot_services = true;
static bool started;

static bool path_is_com1(const EFI_DEVICE_PATH *dp)
{
	for (const uint8_t *p = (const uint8_t *)dp;;) {
		uint16_t len = (uint16_t)(p[2] | p[3] << 8);
		if (p[0] == DP_END || len < 4)
			return false;
		if (p[0] == DP_ACPI && p[1] == DP_ACPI_NODE && len >= 12) {
			uint32_t hid, uid;
			memcpy(&hid, p + 4, 4);
			memcpy(&uid, p + 8, 4);
			if (hid == PNP0501_EISA && uid == 0)
				return true;
		}
		p += len;
	}
}

/*
 * Every text output device with a device path (the ConOut splitter has
 * none) that is not on COM1.
 */
static void find_consoles(void)
{
	static EFI_GUID text_out_guid = SIMPLE_TEXT_OUTPUT_PROTOCOL;
	static EFI_GUID path_guid = DEVICE_PATH_PROTOCOL;
	EFI_HANDLE *handles;
	UINTN n;

	consoles_found = true;
	if (efi_bs->LocateHandleBuffer(ByProtocol, &text_out_guid, NULL, &n, &handles) !=
	    EFI_SUCCESS)
		return;
	for (UINTN i = 0; i < n && nconsoles < MAX_CONSOLES; i++) {
		EFI_DEVICE_PATH *dp;
		SIMPLE_TEXT_OUTPUT_INTERFACE *out;
		if (handles[i] == efi_st->ConsoleOutHandle ||
		    efi_bs->HandleProtocol(handles[i], &path_guid, (void **)&dp) != EFI_SUCCESS ||
		    path_is_com1(dp) ||
		    efi_bs->HandleProtocol(handles[i], &text_out_guid, (void **)&out) !=
			    EFI_SUCCESS)
			continue;
		consoles[nconsoles++] = out;
	}
	efi_bs->FreePool(handles);
}

void con_boot_services_gone(void)
{
	boot_services = false;
}

static void emit(const char *line)
{
	/*
	 * COM1 is used as the firmware set it up: reprogramming the UART would
	 * garble whatever its terminal driver is still sending. The firmware
	 * may also have left the cursor mid-line, so the first line starts
	 * afresh, at the cost of a blank line.
	 */
	if (!started)
		serial_write(COM1, "\n", 1);
	started = true;
	serial_write(COM1, line, strlen(line));
	serial_write(COM1, "\n", 1);
	if (!boot_services)
		return;
	if (!consoles_found)
		find_consoles();
	CHAR16 wide[LINE_MAX + 2];
	text_to_ucs2(wide, LINE_MAX, line);
	size_t n = strlen(line);
	wide[n] = L'\r';
	wide[n + 1] = L'\n';
	wide[n + 2] = 0;
	for (unsigned i = 0; i < nconsoles; i++)
		consoles[i]->OutputString(consoles[i], wide);
}

void con_line(const char *fmt, ...)
{
	char line[LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	emit(line);
}

EFI_STATUS con_fail(EFI_STATUS status, const char *what, const char *fmt, ...)
{
	char line[LINE_MAX];
	int n = fmt_snprintf(line, sizeof(line), "efi-loader: %s: ", what);
	va_list ap;
	va_start(ap, fmt);
	if (n < LINE_MAX)
		fmt_vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	emit(line);
	return status;
}
