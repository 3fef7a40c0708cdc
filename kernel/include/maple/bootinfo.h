/*
 * struct bootinfo: the one hand-off from firmware-specific boot code to the
 * kernel. efi-loader fills it before jumping to the kernel; on the multiboot
 * (SeaBIOS) path the kernel fills it itself from the multiboot information.
 * Everything in it is a physical address, and it holds no pointers, so the
 * same bytes mean the same thing to a 64-bit UEFI application, to 32-bit
 * boot code and to the kernel in the higher half.
 *
 * Entry contract of the UEFI path: the loader jumps to the *physical* address
 * of the kernel ELF's e_entry in 64-bit mode, paging on with physical memory
 * identity-mapped (at least the kernel image and the bootinfo), interrupts
 * off, boot services exited, %rdi = physical address of the bootinfo.
 */
#ifndef MAPLE_BOOTINFO_H
#define MAPLE_BOOTINFO_H

#include <stddef.h>
#include <stdint.h>

#define BOOTINFO_MAGIC	 0x544f4f42454c504dULL /* "MPLEBOOT" little-endian */
#define BOOTINFO_VERSION 2

#define BOOTINFO_MAX_MEM     256
#define BOOTINFO_MAX_MODULES 64
#define BOOTINFO_CMDLINE_MAX 512
#define BOOTINFO_NAME_MAX    64

enum bootinfo_firmware {
	BOOTINFO_FW_UEFI = 1,
	BOOTINFO_FW_BIOS = 2, /* multiboot via SeaBIOS / QEMU -kernel */
};

/*
 * Memory types, in increasing order of precedence: where two sources
 * describe the same byte, the higher value wins (see bootinfo_mem_carve).
 */
enum bootinfo_mem_type {
	BOOTINFO_MEM_USABLE = 1,
	BOOTINFO_MEM_ACPI_RECLAIM = 2, /* ACPI tables: usable once parsed */
	BOOTINFO_MEM_LOADER = 3,       /* bootinfo, modules: free after use */
	BOOTINFO_MEM_KERNEL = 4,       /* the loaded kernel image */
	BOOTINFO_MEM_ACPI_NVS = 5,
	BOOTINFO_MEM_RESERVED = 6,
	BOOTINFO_MEM_BAD = 7,
};

struct bootinfo_mem {
	uint64_t base;
	uint64_t length;
	uint32_t type; /* enum bootinfo_mem_type */
	uint32_t pad;
};
_Static_assert(offsetof(struct bootinfo_mem, base) == 0, "layout");
_Static_assert(offsetof(struct bootinfo_mem, length) == 8, "layout");
_Static_assert(offsetof(struct bootinfo_mem, type) == 16, "layout");
_Static_assert(sizeof(struct bootinfo_mem) == 24, "layout");

struct bootinfo_module {
	uint64_t base;		      /* physical, page-aligned */
	uint64_t size;		      /* bytes */
	char name[BOOTINFO_NAME_MAX]; /* NUL-terminated file name, no directory */
};
_Static_assert(offsetof(struct bootinfo_module, size) == 8, "layout");
_Static_assert(offsetof(struct bootinfo_module, name) == 16, "layout");
_Static_assert(sizeof(struct bootinfo_module) == 80, "layout");

enum bootinfo_fb_format {
	BOOTINFO_FB_NONE = 0,
	BOOTINFO_FB_RGBX = 1, /* byte 0 red */
	BOOTINFO_FB_BGRX = 2, /* byte 0 blue */
};

struct bootinfo_fb {
	uint64_t base; /* physical; 0 when there is no framebuffer */
	uint32_t width;
	uint32_t height;
	uint32_t pitch; /* bytes per scan line */
	uint32_t bpp;
	uint32_t format; /* enum bootinfo_fb_format */
	uint32_t pad;
};
_Static_assert(offsetof(struct bootinfo_fb, width) == 8, "layout");
_Static_assert(offsetof(struct bootinfo_fb, format) == 24, "layout");
_Static_assert(sizeof(struct bootinfo_fb) == 32, "layout");

struct bootinfo {
	uint64_t magic;		    /* BOOTINFO_MAGIC */
	uint32_t version;	    /* BOOTINFO_VERSION */
	uint32_t firmware;	    /* enum bootinfo_firmware */
	uint64_t rsdp;		    /* physical address of the ACPI RSDP, 0 if not found */
	uint64_t kernel_phys_start; /* lowest byte of the loaded image */
	uint64_t kernel_phys_end;   /* one past the highest byte (incl. bss) */
	uint32_t mem_count;
	uint32_t module_count;
	char cmdline[BOOTINFO_CMDLINE_MAX]; /* NUL-terminated */
	struct bootinfo_fb fb;
	struct bootinfo_mem mem[BOOTINFO_MAX_MEM]; /* sorted, non-overlapping */
	struct bootinfo_module modules[BOOTINFO_MAX_MODULES];
};
_Static_assert(offsetof(struct bootinfo, version) == 8, "layout");
_Static_assert(offsetof(struct bootinfo, firmware) == 12, "layout");
_Static_assert(offsetof(struct bootinfo, rsdp) == 16, "layout");
_Static_assert(offsetof(struct bootinfo, kernel_phys_start) == 24, "layout");
_Static_assert(offsetof(struct bootinfo, kernel_phys_end) == 32, "layout");
_Static_assert(offsetof(struct bootinfo, mem_count) == 40, "layout");
_Static_assert(offsetof(struct bootinfo, module_count) == 44, "layout");
_Static_assert(offsetof(struct bootinfo, cmdline) == 48, "layout");
_Static_assert(offsetof(struct bootinfo, fb) == 560, "layout");
_Static_assert(offsetof(struct bootinfo, mem) == 592, "layout");
_Static_assert(offsetof(struct bootinfo, modules) == 592 + 24 * BOOTINFO_MAX_MEM, "layout");

/*
 * Portable helpers (kernel/lib/bootinfo.c), shared by efi-loader, the kernel
 * and the host unit tests. They never allocate.
 */

/* Zero *bi and set magic, version and firmware. */
void bootinfo_init(struct bootinfo *bi, uint32_t firmware);

/*
 * Mark [base, base+length) as `type` in bi->mem, splitting and merging
 * entries so the map stays sorted and non-overlapping. Where the range
 * overlaps an entry of higher precedence (larger type value) that entry keeps
 * its type. Returns 0, or -1 if the map would exceed BOOTINFO_MAX_MEM entries
 * (the map is then unchanged).
 */
int bootinfo_mem_carve(struct bootinfo *bi, uint64_t base, uint64_t length, uint32_t type);

/* Add a module record; returns 0, or -1 when the table is full. */
int bootinfo_add_module(struct bootinfo *bi, const char *name, uint64_t base, uint64_t size);

/* Copy a command line, truncating at BOOTINFO_CMDLINE_MAX-1 bytes. */
void bootinfo_set_cmdline(struct bootinfo *bi, const char *cmdline);

/* Human-readable name of a memory type, for logs. */
const char *bootinfo_mem_type_name(uint32_t type);

#endif
