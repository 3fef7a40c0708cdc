/*
 * Symbolizing addresses in a domain image from its own .symtab, for fault
 * reports. The image is untrusted: every table and string is bounds-checked
 * against the file before it is read.
 */
#include <lib/elf.h>
#include <lib/fmt.h>
#include <lib/string.h>

static bool in_file(uint64_t off, uint64_t len, size_t size)
{
	return off <= size && len <= size - off;
}

bool elf_symbolize(const void *file, size_t size, uint64_t addr, char *out, size_t outlen)
{
	const uint8_t *f = file;
	const struct elf64_ehdr *eh = file;
	fmt_snprintf(out, outlen, "?");
	if (size < sizeof *eh || eh->e_shentsize != sizeof(struct elf64_shdr) ||
	    !in_file(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(struct elf64_shdr), size))
		return false;
	const struct elf64_shdr *sh = (const void *)(f + eh->e_shoff);
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum ||
		    !in_file(sh[i].sh_offset, sh[i].sh_size, size))
			continue;
		const struct elf64_shdr *strtab = &sh[sh[i].sh_link];
		if (!in_file(strtab->sh_offset, strtab->sh_size, size))
			continue;
		const struct elf64_sym *syms = (const void *)(f + sh[i].sh_offset);
		/* The function whose extent holds addr; failing that, the
		 * nearest one below it. */
		const struct elf64_sym *best = NULL;
		for (uint64_t k = 0; k < sh[i].sh_size / sizeof *syms; k++) {
			const struct elf64_sym *s = &syms[k];
			if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || s->st_value > addr ||
			    s->st_name >= strtab->sh_size)
				continue;
			if (s->st_size && addr - s->st_value < s->st_size) {
				best = s;
				break;
			}
			if (!best || s->st_value > best->st_value)
				best = s;
		}
		if (!best)
			return false;
		const char *name = (const char *)(f + strtab->sh_offset + best->st_name);
		size_t maxlen = strtab->sh_size - best->st_name;
		fmt_snprintf(out, outlen, "%.*s+0x%lx", (int)strnlen(name, maxlen), name,
			     (unsigned long)(addr - best->st_value));
		return true;
	}
	return false;
}
