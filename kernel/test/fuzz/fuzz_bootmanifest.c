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
#include <test/fuzz/check_line.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct bootmanifest m;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text + 1, data, size); /* at an odd address, like any file buffer might be */
	struct bootmanifest_error err;
	if (bootmanifest_parse(text + 1, size, &m, &err) < 0) {
		fuzz_check_line(err.msg, sizeof(err.msg));
	} else {
		for (unsigned i = 0; i < m.count; i++) {
			fuzz_check_line(m.entry[i].name, sizeof(m.entry[i].name));
			/* The input itself as every file: a mismatch (or, by luck, a match). */
			bootmanifest_check(&m, m.entry[i].name, data, size, &err);
			fuzz_check_line(err.msg, sizeof(err.msg));
		}
		if (m.count && bootmanifest_unseen(&m) == NULL &&
		    bootmanifest_check(&m, m.entry[0].name, data, size, &err) == 0)
			abort(); /* every entry matched, so a second check must say "read twice" */
	}
	free(text);
	return 0;
}
