/*
 * The boot manifest (kernel/lib/bootmanifest.c): the SHA-256 of every file
 * efi-loader reads from the ESP, written by images/mkesp as `maple/manifest`
 * and checked by the loader before it loads anything. The text format:
 *
 *     maple-boot-manifest 1
 *     <64 lowercase hex digits>  kernel.elf
 *     <64 lowercase hex digits>  cmdline
 *     <64 lowercase hex digits>  modules/xa.elf
 *
 * The first line names the format; each further line is what `sha256sum`
 * prints for one file, named relative to `maple/` with '/' between folders
 * (printable ASCII, no blank or backslash), each line ending in '\n'. The
 * entries are the complete set: a file the loader reads must have one, and
 * every entry must be read. A manifest that breaks any of this is refused.
 */
#ifndef MAPLE_BOOTMANIFEST_H
#define MAPLE_BOOTMANIFEST_H

#include <lib/sha256.h>
#include <maple/bootinfo.h>
#include <stdbool.h>
#include <stddef.h>

#define BOOTMANIFEST_MAGIC	 "maple-boot-manifest 1"
#define BOOTMANIFEST_MAX_ENTRIES (2 + BOOTINFO_MAX_MODULES) /* kernel, cmdline, modules */
#define BOOTMANIFEST_NAME_MAX	 (8 + BOOTINFO_NAME_MAX)    /* "modules/" + a module name */
#define BOOTMANIFEST_SIZE_MAX	 (BOOTMANIFEST_MAX_ENTRIES * 256)

struct bootmanifest_entry {
	char name[BOOTMANIFEST_NAME_MAX]; /* NUL-terminated */
	uint8_t digest[SHA256_DIGEST_SIZE];
	bool seen; /* bootmanifest_check has matched a file to it */
};

struct bootmanifest {
	unsigned count;
	struct bootmanifest_entry entry[BOOTMANIFEST_MAX_ENTRIES];
};

/* One line, no trailing newline, for `efi-loader: <file>: <msg>`. */
struct bootmanifest_error {
	char msg[160];
};

/*
 * Parse the size bytes at text into *m. Returns 0, or -1 with the first
 * problem (`line N: ...`) in err->msg.
 */
int bootmanifest_parse(const char *text, size_t size, struct bootmanifest *m,
		       struct bootmanifest_error *err);

/*
 * Check the file `name` (as in the manifest) against its entry and mark the
 * entry seen. Returns 0, or -1 when the file has no entry, was checked
 * before, or its SHA-256 differs (err->msg says which).
 */
int bootmanifest_check(struct bootmanifest *m, const char *name, const void *data, size_t size,
		       struct bootmanifest_error *err);

/* The name of the first entry bootmanifest_check has not matched, or NULL. */
const char *bootmanifest_unseen(const struct bootmanifest *m);

#endif
