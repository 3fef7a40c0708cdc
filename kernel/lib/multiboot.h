/*
 * Multiboot 1 (Multiboot Specification 0.6.96): the header constants the
 * boot stub needs and the boot information a loader (QEMU -kernel, GRUB)
 * hands over, plus bootinfo_from_multiboot() (kernel/lib/multiboot.c), which
 * turns that information into a struct bootinfo. Safe to include from
 * assembly for the constants.
 */
#ifndef MAPLE_MULTIBOOT_H
#define MAPLE_MULTIBOOT_H

/* 3.1.1: the header's magic; 3.2: what the loader leaves in %eax. */
#define MULTIBOOT_HEADER_MAGIC	   0x1BADB002
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002

/* 3.1.2: header flags. */
#define MULTIBOOT_HEADER_PAGE_ALIGN  (1 << 0) /* modules on 4 KiB boundaries */
#define MULTIBOOT_HEADER_MEMORY_INFO (1 << 1) /* want mem_* and the memory map */
#define MULTIBOOT_HEADER_VIDEO_MODE  (1 << 2)
#define MULTIBOOT_HEADER_AOUT_KLUDGE (1 << 16) /* load addresses are in the header */

/* 3.3: which fields of struct multiboot_info are valid. */
#define MULTIBOOT_INFO_MEMORY	    (1u << 0)
#define MULTIBOOT_INFO_BOOTDEV	    (1u << 1)
#define MULTIBOOT_INFO_CMDLINE	    (1u << 2)
#define MULTIBOOT_INFO_MODS	    (1u << 3)
#define MULTIBOOT_INFO_AOUT_SYMS    (1u << 4)
#define MULTIBOOT_INFO_ELF_SHDR	    (1u << 5)
#define MULTIBOOT_INFO_MEM_MAP	    (1u << 6)
#define MULTIBOOT_INFO_DRIVE_INFO   (1u << 7)
#define MULTIBOOT_INFO_CONFIG_TABLE (1u << 8)
#define MULTIBOOT_INFO_BOOT_LOADER  (1u << 9)
#define MULTIBOOT_INFO_APM_TABLE    (1u << 10)
#define MULTIBOOT_INFO_VBE_INFO	    (1u << 11)
#define MULTIBOOT_INFO_FRAMEBUFFER  (1u << 12)

/* 3.3: memory map entry types. */
#define MULTIBOOT_MEMORY_AVAILABLE	  1
#define MULTIBOOT_MEMORY_RESERVED	  2
#define MULTIBOOT_MEMORY_ACPI_RECLAIMABLE 3
#define MULTIBOOT_MEMORY_NVS		  4
#define MULTIBOOT_MEMORY_BADRAM		  5

#ifndef __ASSEMBLY__

#include <lib/elf.h>
#include <lib/rsdp.h>
#include <maple/bootinfo.h>
#include <stddef.h>
#include <stdint.h>

/* 3.3 "Boot information format". All addresses are physical, below 4 GiB. */
struct multiboot_info {
	uint32_t flags;
	uint32_t mem_lower; /* KiB from 0 (MULTIBOOT_INFO_MEMORY) */
	uint32_t mem_upper; /* KiB from 1 MiB */
	uint32_t boot_device;
	uint32_t cmdline; /* NUL-terminated string */
	uint32_t mods_count;
	uint32_t mods_addr; /* array of struct multiboot_module */
	uint32_t syms[4];
	uint32_t mmap_length; /* bytes */
	uint32_t mmap_addr;   /* struct multiboot_mmap_entry, variable size */
	uint32_t drives_length;
	uint32_t drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
	uint32_t apm_table;
	uint32_t vbe_control_info;
	uint32_t vbe_mode_info;
	uint16_t vbe_mode;
	uint16_t vbe_interface_seg;
	uint16_t vbe_interface_off;
	uint16_t vbe_interface_len;
	uint64_t framebuffer_addr;
	uint32_t framebuffer_pitch;
	uint32_t framebuffer_width;
	uint32_t framebuffer_height;
	uint8_t framebuffer_bpp;
	uint8_t framebuffer_type;
	uint8_t color_info[6];
} __attribute__((packed));
_Static_assert(offsetof(struct multiboot_info, mem_lower) == 4, "layout");
_Static_assert(offsetof(struct multiboot_info, mem_upper) == 8, "layout");
_Static_assert(offsetof(struct multiboot_info, boot_device) == 12, "layout");
_Static_assert(offsetof(struct multiboot_info, cmdline) == 16, "layout");
_Static_assert(offsetof(struct multiboot_info, mods_count) == 20, "layout");
_Static_assert(offsetof(struct multiboot_info, mods_addr) == 24, "layout");
_Static_assert(offsetof(struct multiboot_info, syms) == 28, "layout");
_Static_assert(offsetof(struct multiboot_info, mmap_length) == 44, "layout");
_Static_assert(offsetof(struct multiboot_info, mmap_addr) == 48, "layout");
_Static_assert(offsetof(struct multiboot_info, drives_length) == 52, "layout");
_Static_assert(offsetof(struct multiboot_info, drives_addr) == 56, "layout");
_Static_assert(offsetof(struct multiboot_info, config_table) == 60, "layout");
_Static_assert(offsetof(struct multiboot_info, boot_loader_name) == 64, "layout");
_Static_assert(offsetof(struct multiboot_info, apm_table) == 68, "layout");
_Static_assert(offsetof(struct multiboot_info, vbe_control_info) == 72, "layout");
_Static_assert(offsetof(struct multiboot_info, vbe_mode_info) == 76, "layout");
_Static_assert(offsetof(struct multiboot_info, vbe_mode) == 80, "layout");
_Static_assert(offsetof(struct multiboot_info, vbe_interface_seg) == 82, "layout");
_Static_assert(offsetof(struct multiboot_info, vbe_interface_off) == 84, "layout");
_Static_assert(offsetof(struct multiboot_info, vbe_interface_len) == 86, "layout");
_Static_assert(offsetof(struct multiboot_info, framebuffer_addr) == 88, "layout");
_Static_assert(offsetof(struct multiboot_info, framebuffer_pitch) == 96, "layout");
_Static_assert(offsetof(struct multiboot_info, framebuffer_width) == 100, "layout");
_Static_assert(offsetof(struct multiboot_info, framebuffer_height) == 104, "layout");
_Static_assert(offsetof(struct multiboot_info, framebuffer_bpp) == 108, "layout");
_Static_assert(offsetof(struct multiboot_info, framebuffer_type) == 109, "layout");
_Static_assert(offsetof(struct multiboot_info, color_info) == 110, "layout");
_Static_assert(sizeof(struct multiboot_info) == 116, "layout");

/* 3.3: one boot module; mod_end is one past its last byte. */
struct multiboot_module {
	uint32_t mod_start;
	uint32_t mod_end;
	uint32_t string; /* NUL-terminated; QEMU passes the -initrd path */
	uint32_t reserved;
};
_Static_assert(offsetof(struct multiboot_module, mod_end) == 4, "layout");
_Static_assert(offsetof(struct multiboot_module, string) == 8, "layout");
_Static_assert(sizeof(struct multiboot_module) == 16, "layout");

/* 3.3: memory map entry. `size` excludes itself: the next entry starts
 * size + 4 bytes further on. */
struct multiboot_mmap_entry {
	uint32_t size;
	uint64_t base;
	uint64_t length;
	uint32_t type; /* MULTIBOOT_MEMORY_* */
} __attribute__((packed));
_Static_assert(offsetof(struct multiboot_mmap_entry, base) == 4, "layout");
_Static_assert(offsetof(struct multiboot_mmap_entry, length) == 12, "layout");
_Static_assert(offsetof(struct multiboot_mmap_entry, type) == 20, "layout");
_Static_assert(sizeof(struct multiboot_mmap_entry) == 24, "layout");

/*
 * Build *bi from the multiboot information at physical mbi_phys, read
 * through phys. Checks magic (MULTIBOOT_BOOTLOADER_MAGIC); sets firmware
 * BIOS; copies the command line minus its first word when that word has no
 * '=' (QEMU and GRUB put the kernel's path there); builds the memory map
 * from the loader's map (or mem_lower/mem_upper without one); records each
 * module under the base name of the first word of its string (`module<N>`
 * when that is empty); marks [kernel_start, kernel_end) KERNEL and
 * everything the loader handed over (this structure, command line, memory
 * map, module list, module strings and contents) LOADER; and finds the RSDP
 * with rsdp_find_bios(). Returns 0, or -1 with the reason in err->msg.
 */
int bootinfo_from_multiboot(struct bootinfo *bi, uint32_t magic, uint64_t mbi_phys,
			    phys_map_fn phys, uint64_t kernel_start, uint64_t kernel_end,
			    struct elf_error *err);

#endif /* __ASSEMBLY__ */
#endif
