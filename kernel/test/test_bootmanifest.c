/*
 * Host tests for kernel/lib/bootmanifest.c: what efi-loader accepts as a
 * boot manifest, and what it says about a file that does not match it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <lib/bootmanifest.h>

static struct bootmanifest m;
static struct bootmanifest_error err;

static const char KERNEL[] = "kernel bytes";
static const char CMDLINE[] = "console=com1\n";

/* `sha256sum`'s line for data under name. */
static void entry_line(char *out, size_t n, const char *data, const char *name)
{
	uint8_t d[SHA256_DIGEST_SIZE];
	sha256(data, strlen(data), d);
	char hex[2 * SHA256_DIGEST_SIZE + 1];
	for (unsigned i = 0; i < SHA256_DIGEST_SIZE; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	snprintf(out, n, "%s  %s\n", hex, name);
}

/* A manifest of KERNEL as kernel.elf, CMDLINE as cmdline and "xa" as modules/xa.elf. */
static size_t good(char *buf, size_t n)
{
	char k[128], c[128], x[128];
	entry_line(k, sizeof(k), KERNEL, "kernel.elf");
	entry_line(c, sizeof(c), CMDLINE, "cmdline");
	entry_line(x, sizeof(x), "xa", "modules/xa.elf");
	return (size_t)snprintf(buf, n, BOOTMANIFEST_MAGIC "\n%s%s%s", k, c, x);
}

static void expect_refused(const char *text, size_t size, const char *msg)
{
	assert_int_equal(bootmanifest_parse(text, size, &m, &err), -1);
	assert_string_equal(err.msg, msg);
}

static void test_good_manifest(void **state)
{
	(void)state;
	char buf[1024];
	size_t n = good(buf, sizeof(buf));

	assert_int_equal(bootmanifest_parse(buf, n, &m, &err), 0);
	assert_int_equal(m.count, 3);
	assert_string_equal(bootmanifest_unseen(&m), "kernel.elf");
	assert_int_equal(bootmanifest_check(&m, "kernel.elf", KERNEL, strlen(KERNEL), &err), 0);
	assert_int_equal(bootmanifest_check(&m, "cmdline", CMDLINE, strlen(CMDLINE), &err), 0);
	assert_string_equal(bootmanifest_unseen(&m), "modules/xa.elf");
	assert_int_equal(bootmanifest_check(&m, "modules/xa.elf", "xa", 2, &err), 0);
	assert_null(bootmanifest_unseen(&m));
}

static void test_mismatch_names_both_hashes(void **state)
{
	(void)state;
	char buf[1024];
	assert_int_equal(bootmanifest_parse(buf, good(buf, sizeof(buf)), &m, &err), 0);

	char want[160], flipped[] = "kernel bytes";
	flipped[11] ^= 0x01;
	uint8_t d[SHA256_DIGEST_SIZE], w[SHA256_DIGEST_SIZE];
	sha256(flipped, strlen(flipped), d);
	sha256(KERNEL, strlen(KERNEL), w);
	snprintf(want, sizeof(want),
		 "SHA-256 %02x%02x%02x%02x%02x%02x%02x%02x... does not match the manifest's "
		 "%02x%02x%02x%02x%02x%02x%02x%02x...",
		 d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], w[0], w[1], w[2], w[3], w[4], w[5],
		 w[6], w[7]);
	assert_int_equal(bootmanifest_check(&m, "kernel.elf", flipped, strlen(flipped), &err), -1);
	assert_string_equal(err.msg, want);
	assert_string_equal(bootmanifest_unseen(&m), "kernel.elf");
}

static void test_unlisted_and_twice(void **state)
{
	(void)state;
	char buf[1024];
	assert_int_equal(bootmanifest_parse(buf, good(buf, sizeof(buf)), &m, &err), 0);

	assert_int_equal(bootmanifest_check(&m, "modules/evil.elf", "x", 1, &err), -1);
	assert_string_equal(err.msg, "not in the manifest");
	/* Names match exactly: FAT folds case, the manifest does not. */
	assert_int_equal(bootmanifest_check(&m, "KERNEL.ELF", KERNEL, strlen(KERNEL), &err), -1);
	assert_string_equal(err.msg, "not in the manifest");
	assert_int_equal(bootmanifest_check(&m, "cmdline", CMDLINE, strlen(CMDLINE), &err), 0);
	assert_int_equal(bootmanifest_check(&m, "cmdline", CMDLINE, strlen(CMDLINE), &err), -1);
	assert_string_equal(err.msg, "read twice");
}

static void test_header(void **state)
{
	(void)state;
	expect_refused("", 0, "empty (no `maple-boot-manifest 1` line)");
	expect_refused("maple-boot-manifest 2\n", 22, "line 1: not `maple-boot-manifest 1`");
	expect_refused("maple-boot-manifest 1\r\n", 23, "line 1: not `maple-boot-manifest 1`");
	expect_refused("maple-boot-manifest 1", 21, "line 1: no line break at its end");
	/* Only the header: parses, and then every file is "not in the manifest". */
	assert_int_equal(bootmanifest_parse("maple-boot-manifest 1\n", 22, &m, &err), 0);
	assert_int_equal(m.count, 0);
}

static void test_bad_entries(void **state)
{
	(void)state;
	char buf[1024];
	size_t n = good(buf, sizeof(buf));
	size_t line2 = sizeof(BOOTMANIFEST_MAGIC); /* after "...1\n" */

	/* A hash digit in upper case, or not hex at all (a flipped bit in '0' gives 'p'). */
	char *h = buf + line2 + 5;
	char saved = *h;
	*h = 'A';
	expect_refused(buf, n, "line 2: byte 6 of the hash is not a lowercase hex digit (0x41)");
	*h = 'p';
	expect_refused(buf, n, "line 2: byte 6 of the hash is not a lowercase hex digit (0x70)");
	*h = saved;

	/* One blank instead of two, a CR before the line break, a name with a backslash. */
	buf[line2 + 65] = 'k';
	expect_refused(buf, n, "line 2: not `<64 hex digits>  <name>`");
	buf[line2 + 65] = ' ';
	size_t end2 = line2 + 64 + 2 + strlen("kernel.elf");
	buf[end2 - 1] = '\r';
	expect_refused(buf, n,
		       "line 2: name byte 10 is 0x0d (printable ASCII without blanks or "
		       "backslashes only)");
	buf[end2 - 1] = '\\';
	expect_refused(buf, n,
		       "line 2: name byte 10 is 0x5c (printable ASCII without blanks or "
		       "backslashes only)");
	buf[end2 - 1] = 'f';

	/* The last line cut short of its line break: a truncated copy. */
	expect_refused(buf, n - 1, "line 4: no line break at its end");
	assert_int_equal(bootmanifest_parse(buf, n, &m, &err), 0);
}

static void test_duplicates_and_limits(void **state)
{
	(void)state;
	static char buf[BOOTMANIFEST_SIZE_MAX + 2];
	char line[256];
	entry_line(line, sizeof(line), "x", "cmdline");
	size_t n = (size_t)snprintf(buf, sizeof(buf), BOOTMANIFEST_MAGIC "\n%s%s", line, line);
	expect_refused(buf, n, "line 3: cmdline is listed twice");

	n = (size_t)snprintf(buf, sizeof(buf), BOOTMANIFEST_MAGIC "\n");
	for (unsigned i = 0; i <= BOOTMANIFEST_MAX_ENTRIES; i++) {
		char name[32];
		snprintf(name, sizeof(name), "modules/m%u", i);
		entry_line(line, sizeof(line), "x", name);
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s", line);
	}
	_Static_assert(BOOTMANIFEST_MAX_ENTRIES == 66, "the messages below name the limit");
	expect_refused(buf, n, "line 68: more than 66 entries");

	char longname[BOOTMANIFEST_NAME_MAX + 1];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	entry_line(line, sizeof(line), "x", longname);
	n = (size_t)snprintf(buf, sizeof(buf), BOOTMANIFEST_MAGIC "\n%s", line);
	expect_refused(buf, n, "line 2: name longer than 71 bytes");

	memset(buf, '\n', sizeof(buf));
	expect_refused(buf, BOOTMANIFEST_SIZE_MAX + 1, "16897 bytes, more than 16896");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_manifest),
		cmocka_unit_test(test_mismatch_names_both_hashes),
		cmocka_unit_test(test_unlisted_and_twice),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_bad_entries),
		cmocka_unit_test(test_duplicates_and_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
