/*
 * Reading whole files from the volume efi-loader itself was loaded from
 * (its LoadedImage's DeviceHandle), through the Simple File System protocol
 * (UEFI 2.10 13.4, 13.5).
 */
#include "loader.h"

#include <lib/string.h>

#define PATH_MAX 128

EFI_STATUS file_open_volume(EFI_HANDLE image, EFI_FILE_HANDLE *root)
{
	static EFI_GUID loaded_image_guid = LOADED_IMAGE_PROTOCOL;
	static EFI_GUID fs_guid = SIMPLE_FILE_SYSTEM_PROTOCOL;
	EFI_LOADED_IMAGE *li;
	EFI_SIMPLE_FILE_SYSTEM_PROTOCOL *fs;

	EFI_STATUS s = efi_bs->HandleProtocol(image, &loaded_image_guid, (void **)&li);
	if (s != EFI_SUCCESS)
		return con_fail(s, "loaded image", "no LoadedImage protocol (%s)", text_status(s));
	s = efi_bs->HandleProtocol(li->DeviceHandle, &fs_guid, (void **)&fs);
	if (s != EFI_SUCCESS)
		return con_fail(s, "boot volume", "no file system on the boot device (%s)",
				text_status(s));
	s = fs->OpenVolume(fs, root);
	if (s != EFI_SUCCESS)
		return con_fail(s, "boot volume", "cannot open the file system (%s)",
				text_status(s));
	return EFI_SUCCESS;
}

/* The file's size from its EFI_FILE_INFO (UEFI 2.10 13.5.16). */
static EFI_STATUS file_size(EFI_FILE_HANDLE f, const char *path, UINT64 *size)
{
	static EFI_GUID info_guid = EFI_FILE_INFO_ID;
	/* Room for the fixed part and a long name; only FileSize is used. */
	static union {
		EFI_FILE_INFO info;
		uint8_t bytes[offsetof(EFI_FILE_INFO, FileName) + 512];
	} buf;
	UINTN n = sizeof(buf);
	EFI_STATUS s = f->GetInfo(f, &info_guid, &n, &buf);
	if (s != EFI_SUCCESS)
		return con_fail(s, path, "cannot get file size (%s)", text_status(s));
	if (buf.info.Attribute & EFI_FILE_DIRECTORY)
		return con_fail(EFI_INVALID_PARAMETER, path, "is a directory, not a file");
	*size = buf.info.FileSize;
	return EFI_SUCCESS;
}

EFI_STATUS file_read(EFI_FILE_HANDLE root, const char *path, bool optional, struct file_buf *out)
{
	CHAR16 wpath[PATH_MAX];
	EFI_FILE_HANDLE f;
	UINT64 size = 0;

	out->base = 0;
	out->size = 0;
	if (strlen(path) >= PATH_MAX)
		return con_fail(EFI_INVALID_PARAMETER, path, "path too long");
	text_to_ucs2(wpath, PATH_MAX, path);
	EFI_STATUS s = root->Open(root, &f, wpath, EFI_FILE_MODE_READ, 0);
	if (s == EFI_NOT_FOUND && optional)
		return s;
	if (s == EFI_NOT_FOUND)
		return con_fail(s, path, "file not found");
	if (s != EFI_SUCCESS)
		return con_fail(s, path, "cannot open (%s)", text_status(s));

	s = file_size(f, path, &size);
	if (s == EFI_SUCCESS) {
		s = pages_alloc(size, EfiLoaderData, &out->base);
		if (s != EFI_SUCCESS)
			con_fail(s, path, "cannot allocate %llu bytes below 4 GiB (%s)",
				 (unsigned long long)size, text_status(s));
	}
	/* Some firmware returns short reads on large files; loop until done. */
	for (UINT64 done = 0; s == EFI_SUCCESS && done < size;) {
		UINTN n = size - done;
		s = f->Read(f, &n, (uint8_t *)(UINTN)out->base + done);
		if (s != EFI_SUCCESS)
			con_fail(s, path, "read failed after %llu of %llu bytes (%s)",
				 (unsigned long long)done, (unsigned long long)size,
				 text_status(s));
		else if (n == 0)
			s = con_fail(EFI_END_OF_FILE, path, "file ended after %llu of %llu bytes",
				     (unsigned long long)done, (unsigned long long)size);
		done += n;
	}
	f->Close(f);
	if (s != EFI_SUCCESS) {
		pages_free(out->base, size);
		out->base = 0;
		return s;
	}
	out->size = size;
	return EFI_SUCCESS;
}
