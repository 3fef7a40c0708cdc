/*
 * The boot manifest on the loader's side: \maple\manifest is read first,
 * and every file the loader then reads is checked against it before any of
 * its bytes are used, so a flipped bit anywhere in the kernel, a module or
 * the command line stops the boot with one line instead of running a
 * corrupted kernel (format and rules: kernel/lib/bootmanifest.h). This
 * detects corruption of the files, not a forger who rewrites the manifest
 * too; docs/boot.md says what would.
 */
#include "loader.h"

#include <lib/bootmanifest.h>
#include <lib/fmt.h>
#include <lib/string.h>

#define MAPLE_DIR     "\\maple\\"
#define MANIFEST_PATH MAPLE_DIR "manifest"

static struct bootmanifest manifest;

EFI_STATUS verify_read_manifest(EFI_FILE_HANDLE root)
{
	struct file_buf f;
	struct bootmanifest_error err;

	EFI_STATUS s = file_read(root, MANIFEST_PATH, false, &f);
	if (s != EFI_SUCCESS)
		return s;
	if (bootmanifest_parse((const char *)(UINTN)f.base, f.size, &manifest, &err) < 0)
		s = con_fail(EFI_SECURITY_VIOLATION, MANIFEST_PATH, "%s", err.msg);
	pages_free(f.base, f.size);
	return s;
}

/*
 * The manifest's name for a loader path: relative to \maple\, '/' between
 * folders. Paths outside \maple\ have no name (the loader reads none).
 */
static bool manifest_name(const char *path, char *name, size_t n)
{
	size_t dir = sizeof(MAPLE_DIR) - 1;
	if (strncmp(path, MAPLE_DIR, dir) != 0 || strlcpy(name, path + dir, n) >= n)
		return false;
	for (char *c = name; *c; c++)
		if (*c == '\\')
			*c = '/';
	return true;
}

EFI_STATUS verify_file(const char *path, const struct file_buf *f)
{
	char name[BOOTMANIFEST_NAME_MAX];
	struct bootmanifest_error err;

	if (!manifest_name(path, name, sizeof(name)))
		return con_fail(EFI_SECURITY_VIOLATION, path, "not in the manifest");
	if (bootmanifest_check(&manifest, name, (const void *)(UINTN)f->base, f->size, &err) < 0)
		return con_fail(EFI_SECURITY_VIOLATION, path, "%s", err.msg);
	return EFI_SUCCESS;
}

EFI_STATUS verify_all_read(void)
{
	const char *name = bootmanifest_unseen(&manifest);
	if (!name)
		return EFI_SUCCESS;
	char path[sizeof(MAPLE_DIR) + BOOTMANIFEST_NAME_MAX];
	fmt_snprintf(path, sizeof(path), MAPLE_DIR "%s", name);
	for (char *c = path; *c; c++)
		if (*c == '/')
			*c = '\\';
	return con_fail(EFI_SECURITY_VIOLATION, path,
			"listed in the manifest but not on the volume");
}
