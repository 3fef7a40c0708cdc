/*
 * Host tests for kernel/lib/multiboot.c and kernel/lib/rsdp.c. Physical
 * memory is a host buffer; each test fabricates the multiboot information a
 * loader would leave in it, plus BIOS areas holding (or not) an RSDP.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <lib/multiboot.h>
#include <lib/rsdp.h>

#define PHYS_SIZE 0x200000ULL /* 2 MiB: low memory, BIOS area, the kernel */

#define MBI_ADDR     0x9000
#define CMDLINE_ADDR 0x9400
#define MODS_ADDR    0x9800
#define STRINGS_ADDR 0xA000
#define MMAP_ADDR    0x10000
#define MOD0_ADDR    0x120000
#define MOD1_ADDR    0x130000
#define KERNEL_START 0x100000
#define KERNEL_END   0x118000
#define EBDA_SEG     0x9FC0
#define EBDA_ADDR    0x9FC00

static uint8_t *phys;
static struct multiboot_info *mbi;
static struct bootinfo bi;
static struct elf_error err;
static uint32_t strings_at;

static const void *phys_map(uint64_t addr, uint64_t len)
{
	if (addr > PHYS_SIZE || len > PHYS_SIZE - addr)
		return NULL;
	return phys + addr;
}

static int setup(void **state)
{
	(void)state;
	memset(phys, 0, PHYS_SIZE);
	mbi = (struct multiboot_info *)(phys + MBI_ADDR);
	strings_at = STRINGS_ADDR;
	memset(&bi, 0xee, sizeof(bi));
	memset(&err, 0, sizeof(err));
	return 0;
}

static int group_setup(void **state)
{
	(void)state;
	phys = malloc(PHYS_SIZE);
	return phys ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	free(phys);
	return 0;
}

static void mmap_add(uint64_t base, uint64_t length, uint32_t type)
{
	struct multiboot_mmap_entry e = {.size = 20, .base = base, .length = length, .type = type};

	mbi->flags |= MULTIBOOT_INFO_MEM_MAP;
	mbi->mmap_addr = MMAP_ADDR;
	memcpy(phys + MMAP_ADDR + mbi->mmap_length, &e, sizeof(e));
	mbi->mmap_length += sizeof(e);
}

static uint32_t put_string(const char *s)
{
	uint32_t at = strings_at;

	memcpy(phys + at, s, strlen(s) + 1);
	strings_at += (uint32_t)strlen(s) + 1;
	return at;
}

static void set_cmdline(const char *s)
{
	mbi->flags |= MULTIBOOT_INFO_CMDLINE;
	mbi->cmdline = CMDLINE_ADDR;
	memcpy(phys + CMDLINE_ADDR, s, strlen(s) + 1);
}

/* string 0 means none */
static void add_module(uint32_t start, uint32_t end, uint32_t string)
{
	struct multiboot_module m = {.mod_start = start, .mod_end = end, .string = string};

	mbi->flags |= MULTIBOOT_INFO_MODS;
	mbi->mods_addr = MODS_ADDR;
	memcpy(phys + MODS_ADDR + mbi->mods_count * sizeof(m), &m, sizeof(m));
	mbi->mods_count++;
}

/* What QEMU -kernel with -m 128 leaves behind. */
static void qemu_map(void)
{
	mbi->flags |= MULTIBOOT_INFO_MEMORY;
	mbi->mem_lower = 639;
	mbi->mem_upper = 130944;
	mmap_add(0, 0x9fc00, MULTIBOOT_MEMORY_AVAILABLE);
	mmap_add(0x9fc00, 0x400, MULTIBOOT_MEMORY_RESERVED);
	mmap_add(0xf0000, 0x10000, MULTIBOOT_MEMORY_RESERVED);
	mmap_add(0x100000, 0x7ee0000, MULTIBOOT_MEMORY_AVAILABLE);
	mmap_add(0x7fe0000, 0x20000, MULTIBOOT_MEMORY_RESERVED);
	mmap_add(0xfffc0000, 0x40000, MULTIBOOT_MEMORY_RESERVED);
}

static int convert(void)
{
	return bootinfo_from_multiboot(&bi, MULTIBOOT_BOOTLOADER_MAGIC, MBI_ADDR, phys_map,
				       KERNEL_START, KERNEL_END, &err);
}

static uint32_t type_at(uint64_t addr)
{
	for (uint32_t i = 0; i < bi.mem_count; i++)
		if (addr >= bi.mem[i].base && addr - bi.mem[i].base < bi.mem[i].length)
			return bi.mem[i].type;
	return 0;
}

static void assert_map_sorted(void)
{
	for (uint32_t i = 1; i < bi.mem_count; i++)
		assert_true(bi.mem[i - 1].base + bi.mem[i - 1].length <= bi.mem[i].base);
}

static void expect_error(const char *msg)
{
	assert_int_equal(convert(), -1);
	assert_string_equal(err.msg, msg);
}

static void test_qemu_boot(void **state)
{
	(void)state;
	qemu_map();
	set_cmdline("/home/me/maple/out/kernel/kernel.elf console=com1 test=all smp=2");
	memset(phys + MOD0_ADDR, 'a', 0x2345);
	add_module(MOD0_ADDR, MOD0_ADDR + 0x2345, put_string("/home/me/out/domains/net.elf"));
	add_module(MOD1_ADDR, MOD1_ADDR + 0x1000, put_string("rv6.elf"));

	assert_int_equal(convert(), 0);
	assert_string_equal(err.msg, "");
	assert_true(bi.magic == BOOTINFO_MAGIC);
	assert_int_equal(bi.version, BOOTINFO_VERSION);
	assert_int_equal(bi.firmware, BOOTINFO_FW_BIOS);
	assert_string_equal(bi.cmdline, "console=com1 test=all smp=2");
	assert_int_equal(bi.kernel_phys_start, KERNEL_START);
	assert_int_equal(bi.kernel_phys_end, KERNEL_END);
	assert_int_equal(bi.rsdp, 0);
	assert_int_equal(bi.fb.base, 0);

	assert_int_equal(bi.module_count, 2);
	assert_string_equal(bi.modules[0].name, "net.elf");
	assert_int_equal(bi.modules[0].base, MOD0_ADDR);
	assert_int_equal(bi.modules[0].size, 0x2345);
	assert_string_equal(bi.modules[1].name, "rv6.elf");
	assert_int_equal(bi.modules[1].base, MOD1_ADDR);
	assert_int_equal(bi.modules[1].size, 0x1000);

	assert_map_sorted();
	assert_int_equal(type_at(0), BOOTINFO_MEM_USABLE);
	assert_int_equal(type_at(MBI_ADDR - 1), BOOTINFO_MEM_USABLE);
	assert_int_equal(type_at(MBI_ADDR), BOOTINFO_MEM_LOADER);
	assert_int_equal(type_at(MBI_ADDR + sizeof(struct multiboot_info) - 1),
			 BOOTINFO_MEM_LOADER);
	assert_int_equal(type_at(MBI_ADDR + sizeof(struct multiboot_info)), BOOTINFO_MEM_USABLE);
	assert_int_equal(type_at(CMDLINE_ADDR), BOOTINFO_MEM_LOADER);
	assert_int_equal(type_at(MODS_ADDR), BOOTINFO_MEM_LOADER);
	assert_int_equal(type_at(MODS_ADDR + 31), BOOTINFO_MEM_LOADER);
	assert_int_equal(type_at(MODS_ADDR + 32), BOOTINFO_MEM_USABLE);
	assert_int_equal(type_at(STRINGS_ADDR), BOOTINFO_MEM_LOADER);
	assert_int_equal(type_at(strings_at - 1), BOOTINFO_MEM_LOADER);
	assert_int_equal(type_at(strings_at), BOOTINFO_MEM_USABLE);
	assert_int_equal(type_at(MMAP_ADDR), BOOTINFO_MEM_LOADER);
	assert_int_equal(type_at(MMAP_ADDR + 6 * 24 - 1), BOOTINFO_MEM_LOADER);
	assert_int_equal(type_at(0x9fc00), BOOTINFO_MEM_RESERVED);
	assert_int_equal(type_at(0xa0000), 0);
	assert_int_equal(type_at(0xf0000), BOOTINFO_MEM_RESERVED);
	assert_int_equal(type_at(KERNEL_START), BOOTINFO_MEM_KERNEL);
	assert_int_equal(type_at(KERNEL_END - 1), BOOTINFO_MEM_KERNEL);
	assert_int_equal(type_at(KERNEL_END), BOOTINFO_MEM_USABLE);
	assert_int_equal(type_at(MOD0_ADDR), BOOTINFO_MEM_LOADER);
	assert_int_equal(type_at(MOD0_ADDR + 0x2344), BOOTINFO_MEM_LOADER);
	assert_int_equal(type_at(MOD0_ADDR + 0x2345), BOOTINFO_MEM_USABLE);
	assert_int_equal(type_at(MOD1_ADDR + 0xfff), BOOTINFO_MEM_LOADER);
	assert_int_equal(type_at(0x7fdffff), BOOTINFO_MEM_USABLE);
	assert_int_equal(type_at(0x7fe0000), BOOTINFO_MEM_RESERVED);
	assert_int_equal(type_at(0xffffffff), BOOTINFO_MEM_RESERVED);
	assert_int_equal(type_at(0x100000000), 0);
}

static void test_bad_magic(void **state)
{
	(void)state;
	qemu_map();
	assert_int_equal(bootinfo_from_multiboot(&bi, 0x36d76289, MBI_ADDR, phys_map, KERNEL_START,
						 KERNEL_END, &err),
			 -1);
	assert_string_equal(err.msg, "multiboot: bad magic 0x36d76289 in eax (want 0x2badb002)");
}

static void test_unreadable_info(void **state)
{
	(void)state;
	assert_int_equal(bootinfo_from_multiboot(&bi, MULTIBOOT_BOOTLOADER_MAGIC, PHYS_SIZE - 8,
						 phys_map, KERNEL_START, KERNEL_END, &err),
			 -1);
	assert_string_equal(err.msg, "multiboot: information structure at 0x1ffff8 unreadable");
}

static void test_bad_kernel_range(void **state)
{
	(void)state;
	qemu_map();
	assert_int_equal(bootinfo_from_multiboot(&bi, MULTIBOOT_BOOTLOADER_MAGIC, MBI_ADDR,
						 phys_map, KERNEL_END, KERNEL_START, &err),
			 -1);
	assert_string_equal(err.msg, "multiboot: kernel image [0x118000, 0x100000) is empty");
}

static void test_no_mmap_flag(void **state)
{
	(void)state;
	mbi->flags = MULTIBOOT_INFO_MEMORY;
	mbi->mem_lower = 639;
	mbi->mem_upper = 127 * 1024;
	/* a map left behind without its flag is ignored */
	mmap_add(0, 0x40000000, MULTIBOOT_MEMORY_AVAILABLE);
	mbi->flags &= ~MULTIBOOT_INFO_MEM_MAP;

	assert_int_equal(convert(), 0);
	assert_map_sorted();
	assert_int_equal(type_at(0), BOOTINFO_MEM_USABLE);
	assert_int_equal(type_at(639 * 1024 - 1), BOOTINFO_MEM_USABLE);
	assert_int_equal(type_at(639 * 1024), 0);
	assert_int_equal(type_at(0xfffff), 0);
	assert_int_equal(type_at(KERNEL_START), BOOTINFO_MEM_KERNEL);
	assert_int_equal(type_at(KERNEL_END), BOOTINFO_MEM_USABLE);
	assert_int_equal(type_at(128 * 0x100000 - 1), BOOTINFO_MEM_USABLE);
	assert_int_equal(type_at(128 * 0x100000), 0);
	assert_int_equal(type_at(MBI_ADDR), BOOTINFO_MEM_LOADER);
	/* the unflagged map was not marked as loader data */
	assert_int_equal(type_at(MMAP_ADDR), BOOTINFO_MEM_USABLE);
	assert_string_equal(bi.cmdline, "");
	assert_int_equal(bi.module_count, 0);
}

static void test_empty_mmap_falls_back(void **state)
{
	(void)state;
	mbi->flags = MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_MEM_MAP;
	mbi->mem_lower = 600;
	mbi->mem_upper = 1024;
	mbi->mmap_addr = MMAP_ADDR;
	mbi->mmap_length = 0;
	assert_int_equal(convert(), 0);
	assert_int_equal(type_at(600 * 1024 - 1), BOOTINFO_MEM_USABLE);
	assert_int_equal(type_at(0x200000 - 1), BOOTINFO_MEM_USABLE);
	assert_int_equal(type_at(0x200000), 0);
}

static void test_no_memory_information(void **state)
{
	(void)state;
	set_cmdline("k");
	expect_error("multiboot: no memory information (flags 0x4)");
}

static void test_overlapping_mmap(void **state)
{
	(void)state;
	/* firmware maps overlap; the more restrictive type wins either way */
	mmap_add(0x100000, 0x3f00000, MULTIBOOT_MEMORY_AVAILABLE);
	mmap_add(0x1000000, 0x100000, MULTIBOOT_MEMORY_RESERVED);
	mmap_add(0x3c00000, 0x800000, MULTIBOOT_MEMORY_ACPI_RECLAIMABLE);
	mmap_add(0x3e00000, 0x1000, MULTIBOOT_MEMORY_NVS);
	mmap_add(0x2000000, 0x2000, MULTIBOOT_MEMORY_BADRAM);
	mmap_add(0x2800000, 0x1000, 77); /* unknown types are reserved */
	mmap_add(0x2000000, 0x4000, MULTIBOOT_MEMORY_AVAILABLE);
	mmap_add(0x5000000, 0, MULTIBOOT_MEMORY_RESERVED); /* empty: ignored */

	assert_int_equal(convert(), 0);
	assert_map_sorted();
	assert_int_equal(type_at(0xfffff), 0);
	assert_int_equal(type_at(0xffffff), BOOTINFO_MEM_USABLE);
	assert_int_equal(type_at(0x1000000), BOOTINFO_MEM_RESERVED);
	assert_int_equal(type_at(0x10fffff), BOOTINFO_MEM_RESERVED);
	assert_int_equal(type_at(0x1100000), BOOTINFO_MEM_USABLE);
	assert_int_equal(type_at(0x2001fff), BOOTINFO_MEM_BAD);
	assert_int_equal(type_at(0x2002000), BOOTINFO_MEM_USABLE);
	assert_int_equal(type_at(0x2800000), BOOTINFO_MEM_RESERVED);
	assert_int_equal(type_at(0x3bfffff), BOOTINFO_MEM_USABLE);
	assert_int_equal(type_at(0x3c00000), BOOTINFO_MEM_ACPI_RECLAIM);
	assert_int_equal(type_at(0x3e00000), BOOTINFO_MEM_ACPI_NVS);
	assert_int_equal(type_at(0x3e01000), BOOTINFO_MEM_ACPI_RECLAIM);
	assert_int_equal(type_at(0x43fffff), BOOTINFO_MEM_ACPI_RECLAIM);
	assert_int_equal(type_at(0x4400000), 0);
	assert_int_equal(type_at(KERNEL_START), BOOTINFO_MEM_KERNEL);
}

static void test_mmap_entry_sizes(void **state)
{
	(void)state;
	/* entries larger than 20 bytes (newer loaders) are stepped over */
	struct multiboot_mmap_entry e = {
		.size = 28, .base = 0x100000, .length = 0x100000, .type = 1};
	memcpy(phys + MMAP_ADDR, &e, sizeof(e));
	memset(phys + MMAP_ADDR + sizeof(e), 0xff, 8);
	e.base = 0x300000;
	memcpy(phys + MMAP_ADDR + 32, &e, sizeof(e));
	mbi->flags = MULTIBOOT_INFO_MEM_MAP;
	mbi->mmap_addr = MMAP_ADDR;
	mbi->mmap_length = 64;
	assert_int_equal(convert(), 0);
	assert_int_equal(type_at(0x1fffff), BOOTINFO_MEM_USABLE);
	assert_int_equal(type_at(0x200000), 0);
	assert_int_equal(type_at(0x300000), BOOTINFO_MEM_USABLE);
	assert_int_equal(type_at(MMAP_ADDR + 63), BOOTINFO_MEM_LOADER);

	/* trailing bytes too few for a size field are ignored */
	mbi->mmap_length = 67;
	assert_int_equal(convert(), 0);

	/* an entry running past the end of the map */
	mbi->mmap_length = 60;
	expect_error("multiboot: memory map entry at offset 32: size 28 does not fit");

	/* an entry too small to hold base, length and type */
	e.size = 12;
	memcpy(phys + MMAP_ADDR + 32, &e, sizeof(e));
	mbi->mmap_length = 64;
	expect_error("multiboot: memory map entry at offset 32: size 12 does not fit");

	/* size 0 would loop forever if accepted */
	e.size = 0;
	memcpy(phys + MMAP_ADDR, &e, sizeof(e));
	expect_error("multiboot: memory map entry at offset 0: size 0 does not fit");

	/* a huge size must not wrap the offset */
	e.size = 0xfffffffc;
	memcpy(phys + MMAP_ADDR, &e, sizeof(e));
	expect_error("multiboot: memory map entry at offset 0: size 4294967292 does not fit");
}

static void test_mmap_unreadable_and_overflow(void **state)
{
	(void)state;
	mbi->flags = MULTIBOOT_INFO_MEM_MAP;
	mbi->mmap_addr = PHYS_SIZE - 16;
	mbi->mmap_length = 48;
	expect_error("multiboot: memory map at 0x1ffff0 (48 bytes) unreadable");

	/* an entry reaching past 2^64 is cut at the top of the address space */
	setup(NULL);
	mmap_add(0xfffffffffffff000ULL, 0x10000, MULTIBOOT_MEMORY_RESERVED);
	mmap_add(0x100000, 0x100000, MULTIBOOT_MEMORY_AVAILABLE);
	assert_int_equal(convert(), 0);
	assert_int_equal(type_at(0xfffffffffffffffeULL), BOOTINFO_MEM_RESERVED);
	assert_int_equal(type_at(0x1fffff), BOOTINFO_MEM_USABLE);
}

static void test_mmap_full(void **state)
{
	(void)state;
	/* more separate ranges than struct bootinfo can hold */
	for (uint64_t i = 0; i < BOOTINFO_MAX_MEM + 10; i++)
		mmap_add(0x1000000 + i * 0x2000, 0x1000,
			 i % 2 ? MULTIBOOT_MEMORY_AVAILABLE : MULTIBOOT_MEMORY_RESERVED);
	expect_error("multiboot: memory map full (more than 256 entries)");
}

static void test_cmdline_forms(void **state)
{
	(void)state;
	static const struct {
		const char *given, *want;
	} cases[] = {
		{"/path/kernel.elf console=com1", "console=com1"},
		{"kernel.elf", ""},
		{"kernel.elf   ", ""},
		{"", ""},
		{"console=com1 smp=2", "console=com1 smp=2"},
		{"  /k   a=b c", "a=b c"},
		{"\t/k\ta=b", "a=b"},
		{"quiet", ""}, /* a lone flag looks like a path: documented */
		{"/k quiet test=all", "quiet test=all"},
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		setup(NULL);
		qemu_map();
		set_cmdline(cases[i].given);
		assert_int_equal(convert(), 0);
		assert_string_equal(bi.cmdline, cases[i].want);
	}
}

static void test_cmdline_limits(void **state)
{
	(void)state;
	char line[1200];

	/* 511 bytes of options after the path fit */
	strcpy(line, "/boot/kernel.elf ");
	size_t p = strlen(line);
	memset(line + p, 'x', BOOTINFO_CMDLINE_MAX - 1);
	line[p] = 'a';
	line[p + 1] = '=';
	line[p + BOOTINFO_CMDLINE_MAX - 1] = '\0';
	qemu_map();
	set_cmdline(line);
	assert_int_equal(convert(), 0);
	assert_int_equal(strlen(bi.cmdline), BOOTINFO_CMDLINE_MAX - 1);

	/* one more does not, and is not silently cut */
	line[p + BOOTINFO_CMDLINE_MAX - 1] = 'y';
	line[p + BOOTINFO_CMDLINE_MAX] = '\0';
	set_cmdline(line);
	expect_error("multiboot: command line longer than 511 bytes");

	/* a string that never ends */
	memset(line, 'z', sizeof(line));
	memcpy(phys + CMDLINE_ADDR, line, sizeof(line));
	expect_error("multiboot: command line at 0x9400 unreadable or longer than 1023 bytes");

	/* one that runs off the end of memory */
	memset(phys + PHYS_SIZE - 100, 'z', 100);
	mbi->cmdline = PHYS_SIZE - 100;
	expect_error("multiboot: command line at 0x1fff9c unreadable or longer than 1023 bytes");

	/* a string crossing a page boundary */
	memset(phys + 0x1ff000 - 10, 'c', 200);
	memcpy(phys + 0x1ff000 - 10, "/k a=b", 6);
	phys[0x1ff000 + 100] = '\0';
	mbi->cmdline = 0x1ff000 - 10;
	assert_int_equal(convert(), 0);
	assert_int_equal(strlen(bi.cmdline), 110 - 3);

	/* one ending in the very last byte of memory */
	memset(phys + PHYS_SIZE - 300, 'c', 299);
	memcpy(phys + PHYS_SIZE - 300, "/k a=b", 6);
	phys[PHYS_SIZE - 1] = '\0';
	mbi->cmdline = PHYS_SIZE - 300;
	assert_int_equal(convert(), 0);
	assert_int_equal(strlen(bi.cmdline), 299 - 3);
}

static void test_module_names(void **state)
{
	(void)state;
	char long_name[80];

	memset(long_name, 'n', sizeof(long_name));
	long_name[BOOTINFO_NAME_MAX - 1] = '\0'; /* 63: fits */

	qemu_map();
	add_module(0x140000, 0x141000, put_string("/a/b/c/net.elf"));
	add_module(0x141000, 0x142000, put_string("rv6.elf  arg1 arg2"));
	add_module(0x142000, 0x142000, put_string(""));
	add_module(0x143000, 0x143800, 0);
	add_module(0x144000, 0x145000, put_string("dir/"));
	add_module(0x145000, 0x146000, put_string("  \t/x/blk.elf"));
	add_module(0x146000, 0x147000, put_string(long_name));
	assert_int_equal(convert(), 0);
	assert_int_equal(bi.module_count, 7);
	assert_string_equal(bi.modules[0].name, "net.elf");
	assert_string_equal(bi.modules[1].name, "rv6.elf");
	assert_string_equal(bi.modules[2].name, "module2");
	assert_int_equal(bi.modules[2].size, 0);
	assert_string_equal(bi.modules[3].name, "module3");
	assert_int_equal(bi.modules[3].size, 0x800);
	assert_string_equal(bi.modules[4].name, "module4");
	assert_string_equal(bi.modules[5].name, "blk.elf");
	assert_string_equal(bi.modules[6].name, long_name);
	assert_int_equal(type_at(0x143000), BOOTINFO_MEM_LOADER);
	assert_int_equal(type_at(0x143800), BOOTINFO_MEM_USABLE);
}

static void test_module_name_too_long(void **state)
{
	(void)state;
	char name[80];

	memset(name, 'n', sizeof(name));
	name[BOOTINFO_NAME_MAX] = '\0'; /* 64 */
	qemu_map();
	add_module(0x140000, 0x141000, put_string(name));
	assert_int_equal(convert(), -1);
	assert_non_null(strstr(err.msg, "multiboot: module 0: name 'nnnn"));
	assert_non_null(strstr(err.msg, "' longer than 63 bytes"));
}

/* A control byte in a module's name (from -initrd or GRUB's module line) is refused. */
static void test_module_name_control_byte(void **state)
{
	(void)state;
	qemu_map();
	add_module(0x140000, 0x141000, put_string("/a/x\x1b[2Jb.elf arg"));
	assert_int_equal(convert(), -1);
	assert_string_equal(
		err.msg, "multiboot: module 0: name byte 0x1b at column 2 is not printable ASCII");
	mbi->mods_count = 0;
	add_module(0x140000, 0x141000, put_string("ok\x7f"));
	assert_int_equal(convert(), -1);
	assert_string_equal(
		err.msg, "multiboot: module 0: name byte 0x7f at column 3 is not printable ASCII");
}

static void test_module_errors(void **state)
{
	(void)state;
	qemu_map();
	add_module(0x140800, 0x141000, put_string("a.elf"));
	expect_error("multiboot: module 0 at 0x140800 is not page-aligned");

	setup(NULL);
	qemu_map();
	add_module(0x140000, 0x141000, put_string("a.elf"));
	add_module(0x142000, 0x141000, put_string("b.elf"));
	expect_error("multiboot: module 1: end 0x141000 before start 0x142000");

	setup(NULL);
	qemu_map();
	add_module(0x140000, 0x141000, PHYS_SIZE + 0x1000);
	expect_error(
		"multiboot: module 0: string at 0x201000 unreadable or longer than 1023 bytes");

	setup(NULL);
	qemu_map();
	add_module(0x140000, 0x141000, put_string("a.elf"));
	mbi->mods_addr = PHYS_SIZE - 8;
	expect_error("multiboot: module list at 0x1ffff8 unreadable");

	setup(NULL);
	qemu_map();
	for (int i = 0; i < BOOTINFO_MAX_MODULES + 1; i++)
		add_module(0x140000, 0x141000, 0);
	_Static_assert(BOOTINFO_MAX_MODULES == 64, "the messages below name the limit");
	expect_error("multiboot: 65 modules, at most 64 supported");

	/* a huge count must not overflow the list size */
	mbi->mods_count = 0xffffffff;
	expect_error("multiboot: 4294967295 modules, at most 64 supported");
}

static void test_modules_flag_off(void **state)
{
	(void)state;
	qemu_map();
	add_module(0x140000, 0x141000, put_string("a.elf"));
	mbi->flags &= ~MULTIBOOT_INFO_MODS;
	assert_int_equal(convert(), 0);
	assert_int_equal(bi.module_count, 0);
	assert_int_equal(type_at(0x140000), BOOTINFO_MEM_USABLE);
}

static void test_max_modules(void **state)
{
	(void)state;
	char s[24];

	qemu_map();
	for (int i = 0; i < BOOTINFO_MAX_MODULES; i++) {
		snprintf(s, sizeof(s), "d%d.elf", i);
		add_module(0x140000 + (uint32_t)i * 0x1000, 0x140800 + (uint32_t)i * 0x1000,
			   put_string(s));
	}
	assert_int_equal(convert(), 0);
	assert_int_equal(bi.module_count, BOOTINFO_MAX_MODULES);
	assert_string_equal(bi.modules[31].name, "d31.elf");
	assert_map_sorted();
}

/* ---- RSDP ---- */

static void put_rsdp(uint64_t at, uint8_t revision)
{
	struct acpi_rsdp r;

	memset(&r, 0, sizeof(r));
	memcpy(r.signature, RSDP_SIGNATURE, 8);
	memcpy(r.oem_id, "MAPLE ", 6);
	r.revision = revision;
	r.rsdt_address = 0x7fe1000;
	if (revision >= 2) {
		r.length = RSDP_V2_LENGTH;
		r.xsdt_address = 0x7fe2000;
	}
	r.checksum = (uint8_t)(0x100 - acpi_checksum(&r, RSDP_V1_LENGTH));
	if (revision >= 2)
		r.extended_checksum = (uint8_t)(0x100 - acpi_checksum(&r, RSDP_V2_LENGTH));
	memcpy(phys + at, &r, revision >= 2 ? RSDP_V2_LENGTH : RSDP_V1_LENGTH);
}

static void set_ebda(uint16_t seg)
{
	memcpy(phys + 0x40E, &seg, 2);
}

static void test_checksum(void **state)
{
	(void)state;
	const uint8_t a[] = {1, 2, 3, 250};
	const uint8_t b[] = {0x80, 0x80};

	assert_int_equal(acpi_checksum(a, 4), 0);
	assert_int_equal(acpi_checksum(a, 3), 6);
	assert_int_equal(acpi_checksum(b, 2), 0);
	assert_int_equal(acpi_checksum(a, 0), 0);
}

static void test_rsdp_in_ebda(void **state)
{
	(void)state;
	set_ebda(EBDA_SEG);
	put_rsdp(EBDA_ADDR + 0x40, 0);
	put_rsdp(0xf6a20, 0); /* the EBDA is searched first */
	assert_int_equal(rsdp_find_bios(phys_map), EBDA_ADDR + 0x40);

	/* and it reaches bootinfo */
	qemu_map();
	assert_int_equal(convert(), 0);
	assert_int_equal(bi.rsdp, EBDA_ADDR + 0x40);
}

static void test_rsdp_in_bios_area(void **state)
{
	(void)state;
	set_ebda(EBDA_SEG);
	put_rsdp(0xf6a20, 2);
	assert_int_equal(rsdp_find_bios(phys_map), 0xf6a20);
	memset(phys + 0xf6a20, 0, 64);
	/* the first and last places that can hold a 20-byte RSDP */
	put_rsdp(0xe0000, 0);
	assert_int_equal(rsdp_find_bios(phys_map), 0xe0000);
	memset(phys + 0xe0000, 0, 64);
	put_rsdp(0xfffe0, 0);
	assert_int_equal(rsdp_find_bios(phys_map), 0xfffe0);
}

static void test_rsdp_absent(void **state)
{
	(void)state;
	set_ebda(EBDA_SEG);
	assert_int_equal(rsdp_find_bios(phys_map), 0);
	qemu_map();
	assert_int_equal(convert(), 0);
	assert_int_equal(bi.rsdp, 0);
}

static void test_rsdp_bad_checksum(void **state)
{
	(void)state;
	set_ebda(EBDA_SEG);
	put_rsdp(EBDA_ADDR, 0);
	phys[EBDA_ADDR + 8]++;
	put_rsdp(0xe1000, 0);
	phys[0xe1000 + 19]++;
	assert_int_equal(rsdp_find_bios(phys_map), 0);
	/* a good one further on is still found */
	put_rsdp(0xe2000, 0);
	assert_int_equal(rsdp_find_bios(phys_map), 0xe2000);
}

static void test_rsdp_v2_checks(void **state)
{
	(void)state;
	set_ebda(0);
	/* bad extended checksum, first 20 bytes fine */
	put_rsdp(0xe0000, 2);
	phys[0xe0000 + 33]++;
	assert_false(rsdp_valid(phys + 0xe0000, 36));
	assert_int_equal(rsdp_find_bios(phys_map), 0);
	/* a length below 36 */
	put_rsdp(0xe0000, 2);
	struct acpi_rsdp *r = (struct acpi_rsdp *)(phys + 0xe0000);
	r->length = 20;
	r->checksum = 0;
	r->checksum = (uint8_t)(0x100 - acpi_checksum(r, RSDP_V1_LENGTH));
	assert_false(rsdp_valid(r, 36));
	/* a length larger than what can be read */
	put_rsdp(0xe0000, 2);
	assert_true(rsdp_valid(r, 36));
	assert_false(rsdp_valid(r, 35));
	/* revision 2 cannot sit where fewer than 36 bytes remain */
	memset(phys + 0xe0000, 0, 64);
	put_rsdp(0xfffe0, 2);
	assert_int_equal(rsdp_find_bios(phys_map), 0);
	/* revision 0 needs 20 readable bytes */
	memset(phys + 0xfffe0, 0, 32);
	put_rsdp(0xe0000, 0);
	assert_true(rsdp_valid(phys + 0xe0000, 20));
	assert_false(rsdp_valid(phys + 0xe0000, 19));
	/* signature */
	phys[0xe0000] = 'r';
	assert_false(rsdp_valid(phys + 0xe0000, 20));
}

static void test_rsdp_misplaced(void **state)
{
	(void)state;
	set_ebda(EBDA_SEG);
	/* not on a 16-byte boundary */
	put_rsdp(0xf6a28, 0);
	/* in the EBDA but past its first KiB */
	put_rsdp(EBDA_ADDR + 0x400, 0);
	/* just below the BIOS area */
	put_rsdp(0xdfff0, 0);
	assert_int_equal(rsdp_find_bios(phys_map), 0);
}

static void test_rsdp_ebda_sanity(void **state)
{
	(void)state;
	/* no EBDA: only the BIOS area is searched */
	set_ebda(0);
	put_rsdp(0x7000, 0);
	assert_int_equal(rsdp_find_bios(phys_map), 0);
	put_rsdp(0xe0040, 0);
	assert_int_equal(rsdp_find_bios(phys_map), 0xe0040);
	/* an EBDA segment pointing into the video or BIOS area is bogus */
	memset(phys + 0xe0040, 0, 32);
	put_rsdp(0xb8000, 0);
	set_ebda(0xb800);
	assert_int_equal(rsdp_find_bios(phys_map), 0);
	/* the highest EBDA whose first KiB ends at 640 KiB is fine */
	set_ebda(0x9fc0);
	put_rsdp(0x9fff0, 0);
	assert_int_equal(rsdp_find_bios(phys_map), 0);
	put_rsdp(0x9ffe0, 0);
	assert_int_equal(rsdp_find_bios(phys_map), 0x9ffe0);
}

static const void *no_phys(uint64_t addr, uint64_t len)
{
	(void)addr;
	(void)len;
	return NULL;
}

static void test_rsdp_unreadable(void **state)
{
	(void)state;
	assert_int_equal(rsdp_find_bios(no_phys), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_qemu_boot, setup),
		cmocka_unit_test_setup(test_bad_magic, setup),
		cmocka_unit_test_setup(test_unreadable_info, setup),
		cmocka_unit_test_setup(test_bad_kernel_range, setup),
		cmocka_unit_test_setup(test_no_mmap_flag, setup),
		cmocka_unit_test_setup(test_empty_mmap_falls_back, setup),
		cmocka_unit_test_setup(test_no_memory_information, setup),
		cmocka_unit_test_setup(test_overlapping_mmap, setup),
		cmocka_unit_test_setup(test_mmap_entry_sizes, setup),
		cmocka_unit_test_setup(test_mmap_unreadable_and_overflow, setup),
		cmocka_unit_test_setup(test_mmap_full, setup),
		cmocka_unit_test_setup(test_cmdline_forms, setup),
		cmocka_unit_test_setup(test_cmdline_limits, setup),
		cmocka_unit_test_setup(test_module_names, setup),
		cmocka_unit_test_setup(test_module_name_too_long, setup),
		cmocka_unit_test_setup(test_module_name_control_byte, setup),
		cmocka_unit_test_setup(test_module_errors, setup),
		cmocka_unit_test_setup(test_modules_flag_off, setup),
		cmocka_unit_test_setup(test_max_modules, setup),
		cmocka_unit_test_setup(test_checksum, setup),
		cmocka_unit_test_setup(test_rsdp_in_ebda, setup),
		cmocka_unit_test_setup(test_rsdp_in_bios_area, setup),
		cmocka_unit_test_setup(test_rsdp_absent, setup),
		cmocka_unit_test_setup(test_rsdp_bad_checksum, setup),
		cmocka_unit_test_setup(test_rsdp_v2_checks, setup),
		cmocka_unit_test_setup(test_rsdp_misplaced, setup),
		cmocka_unit_test_setup(test_rsdp_ebda_sanity, setup),
		cmocka_unit_test_setup(test_rsdp_unreadable, setup),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
