/*
 * Kernel command-line options: find `key=value` words and bare flags in the
 * boot command line, match names against comma lists such as `test=a,b`,
 * and find the bytes and list items the boot paths refuse. See
 * lib/cmdline.h for the syntax.
 */
#include <lib/cmdline.h>
#include <lib/string.h>

enum match { MATCH_NONE, MATCH_BARE, MATCH_VALUE };

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Find the last word naming `key`. With want_value, bare words are skipped.
 * On MATCH_VALUE, *val and *vlen describe the value (not NUL-terminated).
 */
static enum match find_last(const char *cmdline, const char *key, bool want_value, const char **val,
			    size_t *vlen)
{
	size_t klen = strlen(key);
	enum match found = MATCH_NONE;
	const char *p = cmdline;

	if (klen == 0)
		return MATCH_NONE;
	while (*p) {
		while (is_blank(*p))
			p++;
		const char *w = p;
		while (*p && !is_blank(*p))
			p++;
		size_t wlen = (size_t)(p - w);
		if (wlen < klen || memcmp(w, key, klen) != 0)
			continue;
		if (wlen == klen && !want_value) {
			found = MATCH_BARE;
		} else if (wlen > klen && w[klen] == '=') {
			found = MATCH_VALUE;
			*val = w + klen + 1;
			*vlen = wlen - klen - 1;
		}
	}
	return found;
}

bool cmdline_get(const char *cmdline, const char *key, char *out, size_t outlen)
{
	const char *val = NULL;
	size_t vlen = 0;

	if (outlen > 0)
		out[0] = '\0';
	if (find_last(cmdline, key, true, &val, &vlen) != MATCH_VALUE || vlen >= outlen)
		return false;
	memcpy(out, val, vlen);
	out[vlen] = '\0';
	return true;
}

static bool value_is(const char *val, size_t vlen, const char *word)
{
	return strlen(word) == vlen && memcmp(val, word, vlen) == 0;
}

bool cmdline_flag(const char *cmdline, const char *key)
{
	const char *val = NULL;
	size_t vlen = 0;

	switch (find_last(cmdline, key, false, &val, &vlen)) {
	case MATCH_BARE:
		return true;
	case MATCH_VALUE:
		return value_is(val, vlen, "1") || value_is(val, vlen, "on") ||
		       value_is(val, vlen, "yes") || value_is(val, vlen, "true");
	case MATCH_NONE:
		break;
	}
	return false;
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99; /* larger than any base */
}

bool cmdline_get_u64(const char *cmdline, const char *key, uint64_t *out)
{
	const char *val = NULL;
	size_t vlen = 0;
	unsigned base = 10;
	uint64_t n = 0;

	if (find_last(cmdline, key, true, &val, &vlen) != MATCH_VALUE)
		return false;
	if (vlen > 2 && val[0] == '0' && (val[1] == 'x' || val[1] == 'X')) {
		base = 16;
		val += 2;
		vlen -= 2;
	}
	if (vlen == 0)
		return false;
	for (size_t i = 0; i < vlen; i++) {
		unsigned d = (unsigned)digit_value(val[i]);
		if (d >= base || n > (UINT64_MAX - d) / base)
			return false;
		n = n * base + d;
	}
	*out = n;
	return true;
}

bool cmdline_list_contains(const char *list, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = list;

	while (*p) {
		const char *item = p;
		while (*p && *p != ',')
			p++;
		size_t ilen = (size_t)(p - item);
		if (ilen > 0 && (value_is(item, ilen, "all") ||
				 (ilen == nlen && memcmp(item, name, nlen) == 0)))
			return true;
		if (*p == ',')
			p++;
	}
	return false;
}

size_t cmdline_bad_byte(const char *cmdline, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)cmdline[i] < 0x20 || (unsigned char)cmdline[i] > 0x7e)
			return i;
	return len;
}

unsigned cmdline_list_empty_item(const char *list)
{
	unsigned item = 1;
	for (const char *p = list;; p++, item++) {
		if (*p == ',' || *p == '\0')
			return item;
		while (*p && *p != ',')
			p++;
		if (*p == '\0')
			return 0;
	}
}
