/*
 * Parsing and checking the boot manifest (format in lib/bootmanifest.h).
 * The manifest comes off the same disk as the files it describes, so it is
 * parsed as untrusted input: every line is read within `size`, every field
 * has a fixed shape, and anything else is refused with its line number.
 */
#include <lib/bootmanifest.h>
#include <lib/fmt.h>
#include <lib/string.h>
#include <stdarg.h>

#define HEX_DIGITS (2 * SHA256_DIGEST_SIZE)

static int fail(struct bootmanifest_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct bootmanifest_error *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* sha256sum writes lowercase only; so does mkesp */
}

/* A name byte: printable ASCII other than blank and backslash. */
static bool name_char(char c)
{
	return c > ' ' && c <= '~' && c != '\\';
}

/* One entry line of `len` bytes (without its '\n'). */
static int parse_entry(const char *line, size_t len, unsigned lineno, struct bootmanifest *m,
		       struct bootmanifest_error *err)
{
	struct bootmanifest_entry e = {0};

	if (len < HEX_DIGITS + 3 || line[HEX_DIGITS] != ' ' || line[HEX_DIGITS + 1] != ' ')
		return fail(err, "line %u: not `<64 hex digits>  <name>`", lineno);
	for (unsigned i = 0; i < HEX_DIGITS; i++) {
		int v = hex_value(line[i]);
		if (v < 0)
			return fail(err,
				    "line %u: byte %u of the hash is not a lowercase hex digit "
				    "(0x%02x)",
				    lineno, i + 1, (unsigned char)line[i]);
		e.digest[i / 2] = (uint8_t)(e.digest[i / 2] << 4 | v);
	}
	const char *name = line + HEX_DIGITS + 2;
	size_t nlen = len - HEX_DIGITS - 2;
	if (nlen >= sizeof(e.name))
		return fail(err, "line %u: name longer than %zu bytes", lineno, sizeof(e.name) - 1);
	for (size_t i = 0; i < nlen; i++)
		if (!name_char(name[i]))
			return fail(err,
				    "line %u: name byte %zu is 0x%02x (printable ASCII without "
				    "blanks or backslashes only)",
				    lineno, i + 1, (unsigned char)name[i]);
	memcpy(e.name, name, nlen);
	for (unsigned i = 0; i < m->count; i++)
		if (strcmp(m->entry[i].name, e.name) == 0)
			return fail(err, "line %u: %s is listed twice", lineno, e.name);
	if (m->count == BOOTMANIFEST_MAX_ENTRIES)
		return fail(err, "line %u: more than %u entries", lineno, BOOTMANIFEST_MAX_ENTRIES);
	m->entry[m->count++] = e;
	return 0;
}

int bootmanifest_parse(const char *text, size_t size, struct bootmanifest *m,
		       struct bootmanifest_error *err)
{
	m->count = 0;
	err->msg[0] = '\0';
	if (size > BOOTMANIFEST_SIZE_MAX)
		return fail(err, "%zu bytes, more than %u", size, BOOTMANIFEST_SIZE_MAX);
	size_t at = 0;
	for (unsigned lineno = 1; at < size; lineno++) {
		const char *line = text + at;
		size_t len = 0;
		while (at + len < size && line[len] != '\n')
			len++;
		if (at + len == size)
			return fail(err, "line %u: no line break at its end", lineno);
		at += len + 1;
		if (lineno == 1) {
			if (len != sizeof(BOOTMANIFEST_MAGIC) - 1 ||
			    memcmp(line, BOOTMANIFEST_MAGIC, len) != 0)
				return fail(err, "line 1: not `" BOOTMANIFEST_MAGIC "`");
		} else if (parse_entry(line, len, lineno, m, err) < 0) {
			return -1;
		}
	}
	if (size == 0)
		return fail(err, "empty (no `" BOOTMANIFEST_MAGIC "` line)");
	return 0;
}

int bootmanifest_check(struct bootmanifest *m, const char *name, const void *data, size_t size,
		       struct bootmanifest_error *err)
{
	struct bootmanifest_entry *e = NULL;
	for (unsigned i = 0; i < m->count && !e; i++)
		if (strcmp(m->entry[i].name, name) == 0)
			e = &m->entry[i];
	if (!e)
		return fail(err, "not in the manifest");
	if (e->seen)
		return fail(err, "read twice");
	uint8_t d[SHA256_DIGEST_SIZE];
	sha256(data, size, d);
	if (memcmp(d, e->digest, sizeof(d)) != 0) {
		/* The first 8 bytes of each tell a corrupted file from a stale manifest. */
		const uint8_t *w = e->digest;
		return fail(err,
			    "SHA-256 %02x%02x%02x%02x%02x%02x%02x%02x... does not match the "
			    "manifest's %02x%02x%02x%02x%02x%02x%02x%02x...",
			    d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], w[0], w[1], w[2], w[3],
			    w[4], w[5], w[6], w[7]);
	}
	e->seen = true;
	return 0;
}

const char *bootmanifest_unseen(const struct bootmanifest *m)
{
	for (unsigned i = 0; i < m->count; i++)
		if (!m->entry[i].seen)
			return m->entry[i].name;
	return NULL;
}
