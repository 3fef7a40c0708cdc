/*
 * Symbolizing addresses in a domain image from its own .symtab, for fault
 * reports. The image is untrusted: every table and string is bounds-checked
 * against the file before it is read, every header and symbol is copied out
 * rather than read through a cast pointer (its offset may be odd, as the
 * loader's rule in elf_check.c also assumes), and the name printed is
 * printable ASCII only, since it goes to COM1. Also the reverse, a named
 * symbol's value, by which maple-hosted finds the gate page in kernel.elf.
 */
#include <lib/elf.h>
#include <lib/fmt.h>
#include <lib/string.h>

static bool in_file(uint64_t off, uint64_t len, size_t size)
{
	return off <= size && len <= size - off;
}

/* Section header i of a table symtab_next has bounds-checked. */
static struct elf64_shdr shdr_at(const uint8_t *f, uint64_t shoff, unsigned i)
{
	struct elf64_shdr sh;
	memcpy(&sh, f + shoff + (uint64_t)i * sizeof sh, sizeof sh);
	return sh;
}

/*
 * The next symbol table from section *i on (*i starts at 0 and advances
 * past it) whose symbols and linked strings both lie inside the file, into
 * *symtab and *strtab; false when there is none left, or the file's header
 * or section table is not whole.
 */
static bool symtab_next(const uint8_t *f, size_t size, unsigned *i, struct elf64_shdr *symtab,
			struct elf64_shdr *strtab)
{
	struct elf64_ehdr eh;
	if (size < sizeof eh)
		return false;
	memcpy(&eh, f, sizeof eh);
	if (eh.e_shentsize != sizeof(struct elf64_shdr) ||
	    !in_file(eh.e_shoff, (uint64_t)eh.e_shnum * sizeof(struct elf64_shdr), size))
		return false;
	while (*i < eh.e_shnum) {
		*symtab = shdr_at(f, eh.e_shoff, (*i)++);
		if (symtab->sh_type != SHT_SYMTAB || symtab->sh_link >= eh.e_shnum ||
		    !in_file(symtab->sh_offset, symtab->sh_size, size))
			continue;
		*strtab = shdr_at(f, eh.e_shoff, symtab->sh_link);
		if (in_file(strtab->sh_offset, strtab->sh_size, size))
			return true;
	}
	return false;
}

/*
 * The function in symtab whose extent holds addr; failing that, the
 * nearest one below it. Names must start inside strtab.
 */
static bool best_symbol(const uint8_t *f, const struct elf64_shdr *symtab,
			const struct elf64_shdr *strtab, uint64_t addr, struct elf64_sym *best)
{
	bool found = false;
	for (uint64_t k = 0; k < symtab->sh_size / sizeof *best; k++) {
		struct elf64_sym s;
		memcpy(&s, f + symtab->sh_offset + k * sizeof s, sizeof s);
		if (ELF64_ST_TYPE(s.st_info) != STT_FUNC || s.st_value > addr ||
		    s.st_name >= strtab->sh_size)
			continue;
		if (s.st_size && addr - s.st_value < s.st_size) {
			*best = s;
			return true;
		}
		if (!found || s.st_value > best->st_value)
			*best = s;
		found = true;
	}
	return found;
}

bool elf_symbolize(const void *file, size_t size, uint64_t addr, char *out, size_t outlen)
{
	const uint8_t *f = file;
	struct elf64_shdr symtab, strtab;
	unsigned i = 0;

	fmt_snprintf(out, outlen, "?");
	/* The first whole symbol table decides: no symbol below addr there is no answer. */
	if (!symtab_next(f, size, &i, &symtab, &strtab))
		return false;
	struct elf64_sym best;
	if (!best_symbol(f, &symtab, &strtab, addr, &best))
		return false;
	const char *name = (const char *)(f + strtab.sh_offset + best.st_name);
	size_t len = strnlen(name, strtab.sh_size - best.st_name);
	fmt_snprintf(out, outlen, "%.*s+0x%lx", (int)(len < outlen ? len : outlen), name,
		     (unsigned long)(addr - best.st_value));
	/* The name is the image's bytes: nothing in it may drive the terminal. */
	for (size_t c = 0; c < len && c < outlen && out[c]; c++)
		if (out[c] < 0x20 || out[c] > 0x7e)
			out[c] = '?';
	return true;
}

bool elf_symbol_value(const void *file, size_t size, const char *name, uint64_t *value)
{
	const uint8_t *f = file;
	struct elf64_shdr symtab, strtab;
	size_t want = strlen(name);

	for (unsigned i = 0; symtab_next(f, size, &i, &symtab, &strtab);) {
		for (uint64_t k = 0; k < symtab.sh_size / sizeof(struct elf64_sym); k++) {
			struct elf64_sym s;
			memcpy(&s, f + symtab.sh_offset + k * sizeof s, sizeof s);
			/* The name and its NUL must lie inside strtab. */
			if (s.st_name >= strtab.sh_size || strtab.sh_size - s.st_name <= want)
				continue;
			const char *n = (const char *)(f + strtab.sh_offset + s.st_name);
			if (!memcmp(n, name, want + 1)) {
				*value = s.st_value;
				return true;
			}
		}
	}
	return false;
}
