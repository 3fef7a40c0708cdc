/*
 * Boot modules: every regular file in \maple\modules\, each read into its
 * own page-aligned EfiLoaderData buffer and, once it matches the boot
 * manifest, recorded in the bootinfo under its file name. Directory entries
 * come from EFI_FILE_PROTOCOL.Read on the directory handle, one
 * EFI_FILE_INFO per call (UEFI 2.10 13.5.8).
 */
#include "loader.h"

#include <lib/fmt.h>
#include <lib/string.h>

#define MODULES_DIR "\\maple\\modules"

static EFI_STATUS load_one(EFI_FILE_HANDLE root, struct bootinfo *bi, const EFI_FILE_INFO *info)
{
	char name[BOOTINFO_NAME_MAX], path[128];
	struct file_buf buf;

	bool ok = text_from_ucs2(name, sizeof(name), info->FileName);
	fmt_snprintf(path, sizeof(path), MODULES_DIR "\\%s", name);
	if (!ok)
		return con_fail(EFI_UNSUPPORTED, path,
				"file name is not printable ASCII or longer than %u bytes",
				BOOTINFO_NAME_MAX - 1);
	if (bi->module_count == BOOTINFO_MAX_MODULES)
		return con_fail(EFI_OUT_OF_RESOURCES, path, "too many modules (at most %u)",
				BOOTINFO_MAX_MODULES);
	EFI_STATUS s = file_read(root, path, false, &buf);
	if (s != EFI_SUCCESS)
		return s;
	s = verify_file(path, &buf);
	if (s != EFI_SUCCESS) {
		pages_free(buf.base, buf.size);
		return s;
	}
	bootinfo_add_module(bi, name, buf.base, buf.size);
	return EFI_SUCCESS;
}

EFI_STATUS modules_load(EFI_FILE_HANDLE root, struct bootinfo *bi)
{
	static union {
		EFI_FILE_INFO info;
		uint8_t bytes[offsetof(EFI_FILE_INFO, FileName) + 512];
	} ent;
	EFI_FILE_HANDLE dir;

	EFI_STATUS s = root->Open(root, &dir, L"" MODULES_DIR, EFI_FILE_MODE_READ, 0);
	if (s == EFI_NOT_FOUND)
		return EFI_SUCCESS; /* no modules */
	if (s != EFI_SUCCESS)
		return con_fail(s, MODULES_DIR, "cannot open (%s)", text_status(s));
	for (;;) {
		UINTN n = sizeof(ent);
		s = dir->Read(dir, &n, &ent);
		if (s == EFI_BUFFER_TOO_SMALL) {
			con_fail(s, MODULES_DIR, "a file name is longer than %u bytes",
				 BOOTINFO_NAME_MAX - 1);
			break;
		}
		if (s != EFI_SUCCESS) {
			con_fail(s, MODULES_DIR, "cannot list (%s)", text_status(s));
			break;
		}
		if (n == 0)
			break; /* end of directory */
		if (ent.info.Attribute & EFI_FILE_DIRECTORY)
			continue; /* ".", ".." and subdirectories */
		s = load_one(root, bi, &ent.info);
		if (s != EFI_SUCCESS)
			break;
	}
	dir->Close(dir);
	return s;
}

void modules_free(struct bootinfo *bi)
{
	for (uint32_t i = 0; i < bi->module_count; i++)
		pages_free(bi->modules[i].base, bi->modules[i].size);
	bi->module_count = 0;
}
