/*
 * efi-loader: EFI/BOOT/BOOTX64.EFI. Reads \maple\kernel.elf, the boot
 * modules in \maple\modules\ and the command line \maple\cmdline from its
 * own volume, checks each against the boot manifest \maple\manifest
 * (verify.c), loads the kernel at its physical addresses, describes it all
 * in a struct bootinfo and jumps to the kernel. Any failure prints one line
 * naming the file and the reason, undoes every allocation and returns the
 * error to the firmware, which then tries its next boot option.
 */
#include "loader.h"

#include <lib/cmdline.h>
#include <lib/string.h>

#define KERNEL_PATH  "\\maple\\kernel.elf"
#define CMDLINE_PATH "\\maple\\cmdline"

EFI_SYSTEM_TABLE *efi_st;
EFI_BOOT_SERVICES *efi_bs;

/*
 * The file without its trailing line breaks, printable ASCII only: the
 * line is printed below and logged by the kernel, so an ESC or a line break
 * in it could drive the terminal or fake a log line (lib/cmdline.h).
 */
static EFI_STATUS copy_cmdline(struct bootinfo *bi, const char *text, size_t size)
{
	size_t n = size;
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	size_t bad = cmdline_bad_byte(text, n);
	if (bad < n)
		return con_fail(EFI_INVALID_PARAMETER, CMDLINE_PATH,
				"byte 0x%02x at column %zu is not printable ASCII",
				(unsigned char)text[bad], bad + 1);
	if (n >= BOOTINFO_CMDLINE_MAX)
		return con_fail(EFI_BAD_BUFFER_SIZE, CMDLINE_PATH, "longer than %u bytes",
				BOOTINFO_CMDLINE_MAX - 1);
	memcpy(bi->cmdline, text, n);
	bi->cmdline[n] = '\0';
	return EFI_SUCCESS;
}

/* A missing file means "" (verify_all_read refuses that if the manifest lists one). */
static EFI_STATUS read_cmdline(EFI_FILE_HANDLE root, struct bootinfo *bi)
{
	struct file_buf f;
	EFI_STATUS s = file_read(root, CMDLINE_PATH, true, &f);
	if (s == EFI_NOT_FOUND)
		return EFI_SUCCESS;
	if (s != EFI_SUCCESS)
		return s;
	s = verify_file(CMDLINE_PATH, &f);
	if (s == EFI_SUCCESS)
		s = copy_cmdline(bi, (const char *)(UINTN)f.base, f.size);
	pages_free(f.base, f.size);
	return s;
}

/*
 * The bootinfo with the command line and the modules, every file checked
 * against the manifest, and no entry of the manifest left unmatched.
 */
static EFI_STATUS describe(EFI_FILE_HANDLE root, struct bootinfo **bip)
{
	EFI_PHYSICAL_ADDRESS bi_pa;
	EFI_STATUS s = pages_alloc(sizeof(struct bootinfo), EfiLoaderData, &bi_pa);
	if (s != EFI_SUCCESS)
		return con_fail(s, "bootinfo", "cannot allocate %zu bytes below 4 GiB (%s)",
				sizeof(struct bootinfo), text_status(s));
	struct bootinfo *bi = (struct bootinfo *)(UINTN)bi_pa;
	*bip = bi;
	bootinfo_init(bi, BOOTINFO_FW_UEFI);
	s = read_cmdline(root, bi);
	if (s == EFI_SUCCESS)
		s = modules_load(root, bi);
	if (s == EFI_SUCCESS)
		s = verify_all_read();
	return s;
}

/*
 * Everything the kernel needs, read and loaded; on failure it has been
 * reported. Every file is checked against the boot manifest before the
 * first kernel segment is placed, so a corrupted boot volume changes no
 * memory but the loader's own buffers.
 */
static EFI_STATUS gather(EFI_FILE_HANDLE root, struct bootinfo **bip, struct elf_info *kinfo,
			 bool *kernel_loaded)
{
	struct file_buf kfile;

	EFI_STATUS s = verify_read_manifest(root);
	if (s != EFI_SUCCESS)
		return s;
	s = file_read(root, KERNEL_PATH, false, &kfile);
	if (s != EFI_SUCCESS)
		return s;
	s = verify_file(KERNEL_PATH, &kfile);
	if (s == EFI_SUCCESS)
		s = describe(root, bip);
	if (s == EFI_SUCCESS)
		s = kernel_load(KERNEL_PATH, &kfile, kinfo);
	pages_free(kfile.base, kfile.size);
	if (s != EFI_SUCCESS)
		return s;
	*kernel_loaded = true;

	struct bootinfo *bi = *bip;
	bi->kernel_phys_start = kinfo->paddr_lo;
	bi->kernel_phys_end = kinfo->paddr_hi;
	bi->rsdp = sysinfo_rsdp();
	sysinfo_framebuffer(&bi->fb);
	con_line("efi-loader: kernel 0x%llx-0x%llx entry 0x%llx, %u modules, rsdp 0x%llx, "
		 "cmdline \"%s\"",
		 (unsigned long long)bi->kernel_phys_start, (unsigned long long)bi->kernel_phys_end,
		 (unsigned long long)kinfo->entry_paddr, bi->module_count,
		 (unsigned long long)bi->rsdp, bi->cmdline);
	return EFI_SUCCESS;
}

/* crt0-efi-x86_64.o calls this with the System V ABI after self-relocation. */
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st);

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	struct bootinfo *bi = NULL;
	struct elf_info kinfo;
	bool kernel_loaded = false;
	EFI_FILE_HANDLE root;

	efi_st = st;
	efi_bs = st->BootServices;
	con_line("efi-loader: start");

	EFI_STATUS s = file_open_volume(image, &root);
	if (s != EFI_SUCCESS)
		return s;
	s = gather(root, &bi, &kinfo, &kernel_loaded);
	root->Close(root);
	if (s == EFI_SUCCESS)
		s = handoff(image, bi, kinfo.entry_paddr);

	/* handoff() returned: give back everything before returning to the firmware. */
	if (bi) {
		modules_free(bi);
		pages_free((EFI_PHYSICAL_ADDRESS)(UINTN)bi, sizeof(*bi));
	}
	if (kernel_loaded)
		kernel_unload(&kinfo);
	return s;
}
