/*
 * libFuzzer target for the boot manifest parser (kernel/lib/bootmanifest.c),
 * which efi-loader runs on \maple\manifest before it trusts anything else on
 * the volume: parse the input; if it parses, check a file against every
 * entry and ask for the unmatched one. ASan and UBSan, every report fatal;
 * run by ci/test (ci/groups/fuzz.py) and tools/fuzz-elf.
 */
#include <lib/bootmanifest.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct bootmanifest m;

static void check_line(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	if (len == n)
		abort();
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text + 1, data, size); /* at an odd address, like any file buffer might be */
	struct bootmanifest_error err;
	if (bootmanifest_parse(text + 1, size, &m, &err) < 0) {
		check_line(err.msg, sizeof(err.msg));
	} else {
		for (unsigned i = 0; i < m.count; i++) {
			check_line(m.entry[i].name, sizeof(m.entry[i].name));
			/* The input itself as every file: a mismatch (or, by luck, a match). */
			bootmanifest_check(&m, m.entry[i].name, data, size, &err);
			check_line(err.msg, sizeof(err.msg));
		}
		if (m.count && bootmanifest_unseen(&m) == NULL &&
		    bootmanifest_check(&m, m.entry[0].name, data, size, &err) == 0)
			abort(); /* every entry matched, so a second check must say "read twice" */
	}
	free(text);
	return 0;
}
