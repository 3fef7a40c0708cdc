/*
 * Loading the kernel ELF: validate the whole image with elf_check first,
 * then claim each PT_LOAD's physical pages exactly where it was linked
 * (AllocateAddress, UEFI 2.10 7.2.1) and fill them: file bytes, then zeros.
 */
#include "loader.h"

#include <lib/string.h>

static EFI_PHYSICAL_ADDRESS seg_start(const struct elf_segment *s)
{
	return s->paddr & ~(PAGE_SIZE - 1);
}

static UINTN seg_pages(const struct elf_segment *s)
{
	return (s->paddr + s->memsz - seg_start(s) + PAGE_SIZE - 1) / PAGE_SIZE;
}

/* Free the first `n` segments' pages. */
static void unload_segments(const struct elf_info *info, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (info->seg[i].memsz)
			efi_bs->FreePages(seg_start(&info->seg[i]), seg_pages(&info->seg[i]));
}

EFI_STATUS kernel_load(const char *path, const struct file_buf *file, struct elf_info *info)
{
	const uint8_t *image = (const uint8_t *)(UINTN)file->base;
	struct elf_error err;

	if (elf_check(image, file->size, ELF_KIND_KERNEL, info, &err) != 0)
		return con_fail(EFI_LOAD_ERROR, path, "%s", err.msg);

	for (unsigned i = 0; i < info->nsegs; i++) {
		const struct elf_segment *s = &info->seg[i];
		if (s->memsz == 0)
			continue;
		EFI_PHYSICAL_ADDRESS at = seg_start(s);
		EFI_STATUS st =
			efi_bs->AllocatePages(AllocateAddress, EfiLoaderData, seg_pages(s), &at);
		if (st != EFI_SUCCESS) {
			unload_segments(info, i);
			return con_fail(
				st, path,
				"cannot claim physical memory 0x%llx-0x%llx for a segment (%s)",
				(unsigned long long)s->paddr,
				(unsigned long long)(s->paddr + s->memsz),
				st == EFI_NOT_FOUND ? "in use or not RAM" : text_status(st));
		}
		uint8_t *dst = (uint8_t *)(UINTN)s->paddr;
		memcpy(dst, image + s->offset, s->filesz);
		memset(dst + s->filesz, 0, s->memsz - s->filesz);
	}
	return EFI_SUCCESS;
}

void kernel_unload(const struct elf_info *info)
{
	unload_segments(info, info->nsegs);
}
