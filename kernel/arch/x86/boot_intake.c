/*
 * Copy what the boot path handed over into the kernel's own struct bootinfo
 * while the boot page tables still map the low 4 GiB at DIRECT_MAP_BASE.
 * UEFI: efi-loader built the bootinfo (and checked the kernel ELF before
 * loading it). Multiboot: check the kernel's own ELF header and build the
 * bootinfo here.
 */
#include <arch/x86/layout.h>
#include <core/boot.h>
#include <core/panic.h>
#include <lib/cmdline.h>
#include <lib/multiboot.h>
#include <lib/string.h>

#define BOOT_MAPPED_LIMIT 0x100000000ULL /* the boot tables map 4 GiB */

struct bootinfo boot_info;

extern const char __kernel_start[], __load_end[], __kernel_end[];

static const void *boot_phys(uint64_t addr, uint64_t len)
{
	if (addr >= BOOT_MAPPED_LIMIT || len > BOOT_MAPPED_LIMIT - addr)
		return NULL;
	return (const void *)(DIRECT_MAP_BASE + addr);
}

/*
 * The multiboot loader copies the file from its ELF header on without
 * reading it (the a.out kludge, boot.S), so a kernel linked for another
 * machine or as another kind of image would run anyway. The same elf_check
 * efi-loader applies, over the bytes the loader copied, refuses it here
 * instead; kernel.ld keeps the headers in that copy.
 */
static void multiboot_intake(uint64_t arg, uint64_t magic)
{
	static struct elf_info info;
	struct elf_error err;
	if (elf_check(__kernel_start, (size_t)(__load_end - __kernel_start), ELF_KIND_KERNEL, &info,
		      &err) < 0)
		panic("boot: kernel image at %#lx: %s", (uint64_t)__kernel_start - KERNEL_VMA,
		      err.msg);
	if (bootinfo_from_multiboot(&boot_info, (uint32_t)magic, arg, boot_phys,
				    (uint64_t)__kernel_start - KERNEL_VMA,
				    (uint64_t)__kernel_end - KERNEL_VMA, &err) < 0)
		panic("boot: multiboot information unusable: %s", err.msg);
}

/*
 * Whatever loader built it, the command line is logged next (main.c) and
 * read by every option lookup: it must be a string of printable ASCII, so
 * that nothing in it can drive the terminal on COM1 (lib/cmdline.h).
 * efi-loader refuses such a line already; the multiboot path has no one
 * else to.
 */
static void check_cmdline(void)
{
	size_t n = strnlen(boot_info.cmdline, sizeof boot_info.cmdline);
	if (n == sizeof boot_info.cmdline)
		panic("boot: command line has no NUL in its %zu bytes", n);
	size_t bad = cmdline_bad_byte(boot_info.cmdline, n);
	if (bad < n)
		panic("boot: command line byte 0x%02x at column %zu is not printable ASCII",
		      (unsigned char)boot_info.cmdline[bad], bad + 1);
}

void boot_intake(uint64_t kind, uint64_t arg, uint64_t magic)
{
	if (kind == BOOT_UEFI) {
		const struct bootinfo *src = boot_phys(arg, sizeof *src);
		if (!src)
			panic("boot: bootinfo at %#lx is above the 4 GiB the boot tables map", arg);
		if (src->magic != BOOTINFO_MAGIC || src->version != BOOTINFO_VERSION)
			panic("boot: bootinfo at %#lx has magic %#lx version %u, want %#llx "
			      "version %u",
			      arg, src->magic, src->version, BOOTINFO_MAGIC, BOOTINFO_VERSION);
		memcpy(&boot_info, src, sizeof boot_info);
	} else {
		multiboot_intake(arg, magic);
	}
	check_cmdline();
}
