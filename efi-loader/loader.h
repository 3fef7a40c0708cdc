/*
 * Declarations shared by the UEFI-side files of efi-loader. Every path is
 * an ASCII string as printed in messages (`\maple\kernel.elf`); conversion
 * to UCS-2 happens only where the firmware wants it.
 */
#ifndef EFI_LOADER_LOADER_H
#define EFI_LOADER_LOADER_H

#include <efi.h>
#include <lib/elf.h>
#include <maple/bootinfo.h>
#include <stdbool.h>

#define PAGE_SIZE 4096ULL

extern EFI_SYSTEM_TABLE *efi_st;
extern EFI_BOOT_SERVICES *efi_bs;

/* console.c: every line goes to COM1 and, while boot services last, ConOut. */
void con_boot_services_gone(void);
void con_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print `efi-loader: <what>: <reason>` and return `status`. */
EFI_STATUS con_fail(EFI_STATUS status, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* text.c */
void text_to_ucs2(CHAR16 *dst, size_t n, const char *src);
/*
 * Always writes a NUL-terminated best effort (unprintable characters as
 * '?', cut at n-1); returns false when that is not an exact copy.
 */
bool text_from_ucs2(char *dst, size_t n, const CHAR16 *src);
const char *text_status(EFI_STATUS status);

/* pages.c: whole pages below 4 GiB, where the kernel's first page tables reach. */
EFI_STATUS pages_alloc(UINTN bytes, EFI_MEMORY_TYPE type, EFI_PHYSICAL_ADDRESS *out);
void pages_free(EFI_PHYSICAL_ADDRESS base, UINTN bytes);

/* file.c: whole files from the volume the loader came from. */
struct file_buf {
	EFI_PHYSICAL_ADDRESS base; /* page-aligned, EfiLoaderData */
	UINTN size;
};
EFI_STATUS file_open_volume(EFI_HANDLE image, EFI_FILE_HANDLE *root);
/* EFI_NOT_FOUND is returned silently when `optional`; other errors are reported. */
EFI_STATUS file_read(EFI_FILE_HANDLE root, const char *path, bool optional, struct file_buf *out);

/*
 * verify.c: the boot manifest. verify_read_manifest comes first; each file
 * read afterwards passes verify_file before it is used; verify_all_read
 * then refuses a manifest entry no file matched. Each reports its failure.
 */
EFI_STATUS verify_read_manifest(EFI_FILE_HANDLE root);
EFI_STATUS verify_file(const char *path, const struct file_buf *f);
EFI_STATUS verify_all_read(void);

/* modules.c */
EFI_STATUS modules_load(EFI_FILE_HANDLE root, struct bootinfo *bi);
void modules_free(struct bootinfo *bi);

/* load.c */
EFI_STATUS kernel_load(const char *path, const struct file_buf *file, struct elf_info *info);
void kernel_unload(const struct elf_info *info);

/* sysinfo.c */
uint64_t sysinfo_rsdp(void);
void sysinfo_framebuffer(struct bootinfo_fb *fb);

/* handoff.c: only returns on failure, with boot services still running. */
EFI_STATUS handoff(EFI_HANDLE image, struct bootinfo *bi, uint64_t entry);

#endif
