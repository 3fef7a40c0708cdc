/*
 * Turn Multiboot 1 boot information (the BIOS path: SeaBIOS + QEMU -kernel,
 * or GRUB) into the struct bootinfo the rest of the kernel reads, so that
 * after this point both boot paths look the same. Every byte the loader
 * wrote is read through the caller's phys mapper and checked for bounds
 * first; nothing here trusts a length or a count.
 */
#include <lib/cmdline.h>
#include <lib/fmt.h>
#include <lib/multiboot.h>
#include <lib/string.h>
#include <stdarg.h>

#define PAGE_SIZE      4096ULL
#define STRING_MAX     1024 /* longest loader string accepted, NUL included */
#define LOW_MEM_END    0x100000ULL
#define MMAP_ENTRY_MIN 20 /* base, length, type: what follows `size` */

static int fail(struct elf_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct elf_error *err, const char *fmt, ...)
{
	va_list ap;
	int n = fmt_snprintf(err->msg, sizeof(err->msg), "multiboot: ");

	va_start(ap, fmt);
	fmt_vsnprintf(err->msg + n, sizeof(err->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Copy the string at physical addr into out (outlen bytes with the NUL).
 * Reads a page at a time, since the mapper only promises what it was asked
 * for. Stores the length (without NUL) in *len. Returns 0, or -1 when the
 * string is unreadable or needs more than outlen bytes.
 */
static int read_string(phys_map_fn phys, uint64_t addr, char *out, size_t outlen, size_t *len)
{
	size_t n = 0;

	while (n < outlen) {
		uint64_t at = addr + n;
		uint64_t chunk = PAGE_SIZE - at % PAGE_SIZE;
		if (chunk > outlen - n)
			chunk = outlen - n;
		const char *p = phys(at, chunk);
		if (!p)
			return -1;
		for (uint64_t i = 0; i < chunk; i++) {
			out[n] = p[i];
			if (p[i] == '\0') {
				*len = n;
				return 0;
			}
			n++;
		}
	}
	return -1;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* QEMU and GRUB prefix the command line with the kernel's path. Drop a
 * first word without '=' so both boot paths carry only the options. */
static const char *skip_image_path(const char *cmdline)
{
	const char *p = cmdline;

	while (is_blank(*p))
		p++;
	const char *word = p;
	while (*p && !is_blank(*p)) {
		if (*p == '=')
			return word;
		p++;
	}
	while (is_blank(*p))
		p++;
	return p;
}

static int take_cmdline(struct bootinfo *bi, const struct multiboot_info *mbi, phys_map_fn phys,
			struct elf_error *err)
{
	char buf[STRING_MAX];
	size_t len;

	if (!(mbi->flags & MULTIBOOT_INFO_CMDLINE))
		return 0;
	if (read_string(phys, mbi->cmdline, buf, sizeof(buf), &len) < 0)
		return fail(err, "command line at %#x unreadable or longer than %d bytes",
			    mbi->cmdline, STRING_MAX - 1);
	const char *opts = skip_image_path(buf);
	if (strlen(opts) >= BOOTINFO_CMDLINE_MAX)
		return fail(err, "command line longer than %d bytes", BOOTINFO_CMDLINE_MAX - 1);
	bootinfo_set_cmdline(bi, opts);
	if (bootinfo_mem_carve(bi, mbi->cmdline, len + 1, BOOTINFO_MEM_LOADER) < 0)
		return fail(err, "memory map full");
	return 0;
}

static uint32_t mem_type(uint32_t mb_type)
{
	switch (mb_type) {
	case MULTIBOOT_MEMORY_AVAILABLE:
		return BOOTINFO_MEM_USABLE;
	case MULTIBOOT_MEMORY_ACPI_RECLAIMABLE:
		return BOOTINFO_MEM_ACPI_RECLAIM;
	case MULTIBOOT_MEMORY_NVS:
		return BOOTINFO_MEM_ACPI_NVS;
	case MULTIBOOT_MEMORY_BADRAM:
		return BOOTINFO_MEM_BAD;
	default: /* 3.3: any other value is reserved */
		return BOOTINFO_MEM_RESERVED;
	}
}

static int carve(struct bootinfo *bi, uint64_t base, uint64_t length, uint32_t type,
		 struct elf_error *err)
{
	if (length == 0)
		return 0;
	if (length > UINT64_MAX - base)
		length = UINT64_MAX - base;
	if (bootinfo_mem_carve(bi, base, length, type) < 0)
		return fail(err, "memory map full (more than %d entries)", BOOTINFO_MAX_MEM);
	return 0;
}

static int take_mmap(struct bootinfo *bi, const struct multiboot_info *mbi, phys_map_fn phys,
		     struct elf_error *err)
{
	const uint8_t *map = phys(mbi->mmap_addr, mbi->mmap_length);
	uint32_t off = 0;

	if (!map)
		return fail(err, "memory map at %#x (%u bytes) unreadable", mbi->mmap_addr,
			    mbi->mmap_length);
	while (mbi->mmap_length - off >= sizeof(uint32_t)) {
		const struct multiboot_mmap_entry *e = (const void *)(map + off);
		if (e->size < MMAP_ENTRY_MIN || e->size > mbi->mmap_length - off - sizeof(uint32_t))
			return fail(err, "memory map entry at offset %u: size %u does not fit", off,
				    e->size);
		if (carve(bi, e->base, e->length, mem_type(e->type), err) < 0)
			return -1;
		off += (uint32_t)sizeof(uint32_t) + e->size;
	}
	return carve(bi, mbi->mmap_addr, mbi->mmap_length, BOOTINFO_MEM_LOADER, err);
}

static int take_memory(struct bootinfo *bi, const struct multiboot_info *mbi, phys_map_fn phys,
		       struct elf_error *err)
{
	if ((mbi->flags & MULTIBOOT_INFO_MEM_MAP) && mbi->mmap_length > 0)
		return take_mmap(bi, mbi, phys, err);
	if (!(mbi->flags & MULTIBOOT_INFO_MEMORY))
		return fail(err, "no memory information (flags %#x)", mbi->flags);
	if (carve(bi, 0, (uint64_t)mbi->mem_lower * 1024, BOOTINFO_MEM_USABLE, err) < 0)
		return -1;
	return carve(bi, LOW_MEM_END, (uint64_t)mbi->mem_upper * 1024, BOOTINFO_MEM_USABLE, err);
}

/* The module's name: the base name of the first word of its string. */
static int module_name(const char *s, unsigned index, char *name, struct elf_error *err)
{
	const char *word = s, *end, *base;

	while (is_blank(*word))
		word++;
	end = word;
	base = word;
	while (*end && !is_blank(*end)) {
		if (*end == '/')
			base = end + 1;
		end++;
	}
	size_t n = (size_t)(end - base);
	if (n == 0) {
		fmt_snprintf(name, BOOTINFO_NAME_MAX, "module%u", index);
		return 0;
	}
	/* The name is logged and matched against domains=: no control bytes (lib/cmdline.h). */
	size_t bad = cmdline_bad_byte(base, n);
	if (bad < n)
		return fail(err, "module %u: name byte 0x%02x at column %zu is not printable ASCII",
			    index, (unsigned char)base[bad], bad + 1);
	if (n >= BOOTINFO_NAME_MAX)
		return fail(err, "module %u: name '%.*s' longer than %d bytes", index, (int)n, base,
			    BOOTINFO_NAME_MAX - 1);
	memcpy(name, base, n);
	name[n] = '\0';
	return 0;
}

static int take_modules(struct bootinfo *bi, const struct multiboot_info *mbi, phys_map_fn phys,
			struct elf_error *err)
{
	const struct multiboot_module *mods;
	uint32_t count = mbi->mods_count;

	if (!(mbi->flags & MULTIBOOT_INFO_MODS) || count == 0)
		return 0;
	if (count > BOOTINFO_MAX_MODULES)
		return fail(err, "%u modules, at most %d supported", count, BOOTINFO_MAX_MODULES);
	mods = phys(mbi->mods_addr, (uint64_t)count * sizeof(*mods));
	if (!mods)
		return fail(err, "module list at %#x unreadable", mbi->mods_addr);
	for (uint32_t i = 0; i < count; i++) {
		const struct multiboot_module *m = &mods[i];
		char str[STRING_MAX], name[BOOTINFO_NAME_MAX];
		size_t len = 0;

		if (m->mod_end < m->mod_start)
			return fail(err, "module %u: end %#x before start %#x", i, m->mod_end,
				    m->mod_start);
		if (m->mod_start % PAGE_SIZE != 0)
			return fail(err, "module %u at %#x is not page-aligned", i, m->mod_start);
		str[0] = '\0';
		if (m->string && read_string(phys, m->string, str, sizeof(str), &len) < 0)
			return fail(err,
				    "module %u: string at %#x unreadable or longer than %d bytes",
				    i, m->string, STRING_MAX - 1);
		if (module_name(str, i, name, err) < 0)
			return -1;
		if (bootinfo_add_module(bi, name, m->mod_start, m->mod_end - m->mod_start) < 0)
			return fail(err, "module table full");
		if (carve(bi, m->mod_start, m->mod_end - m->mod_start, BOOTINFO_MEM_LOADER, err) <
			    0 ||
		    (m->string && carve(bi, m->string, len + 1, BOOTINFO_MEM_LOADER, err) < 0))
			return -1;
	}
	return carve(bi, mbi->mods_addr, (uint64_t)count * sizeof(*mods), BOOTINFO_MEM_LOADER, err);
}

int bootinfo_from_multiboot(struct bootinfo *bi, uint32_t magic, uint64_t mbi_phys,
			    phys_map_fn phys, uint64_t kernel_start, uint64_t kernel_end,
			    struct elf_error *err)
{
	const struct multiboot_info *mbi;

	bootinfo_init(bi, BOOTINFO_FW_BIOS);
	err->msg[0] = '\0';
	if (magic != MULTIBOOT_BOOTLOADER_MAGIC)
		return fail(err, "bad magic %#x in eax (want %#x)", magic,
			    MULTIBOOT_BOOTLOADER_MAGIC);
	mbi = phys(mbi_phys, sizeof(*mbi));
	if (!mbi)
		return fail(err, "information structure at %#lx unreadable", mbi_phys);
	if (kernel_end <= kernel_start)
		return fail(err, "kernel image [%#lx, %#lx) is empty", kernel_start, kernel_end);
	if (take_memory(bi, mbi, phys, err) < 0 || take_cmdline(bi, mbi, phys, err) < 0 ||
	    take_modules(bi, mbi, phys, err) < 0 ||
	    carve(bi, mbi_phys, sizeof(*mbi), BOOTINFO_MEM_LOADER, err) < 0 ||
	    carve(bi, kernel_start, kernel_end - kernel_start, BOOTINFO_MEM_KERNEL, err) < 0)
		return -1;
	bi->kernel_phys_start = kernel_start;
	bi->kernel_phys_end = kernel_end;
	bi->rsdp = rsdp_find_bios(phys);
	return 0;
}
