/* Host tests for kernel/lib/cmdline.c: option lookup, flags, numbers, lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <lib/cmdline.h>

static const char *const LINE = "console=com1 test=all smp=2 isolation=off quiet";

static void test_get_basic(void **state)
{
	(void)state;
	char v[32];

	assert_true(cmdline_get(LINE, "console", v, sizeof(v)));
	assert_string_equal(v, "com1");
	assert_true(cmdline_get(LINE, "test", v, sizeof(v)));
	assert_string_equal(v, "all");
	assert_true(cmdline_get(LINE, "smp", v, sizeof(v)));
	assert_string_equal(v, "2");
	assert_true(cmdline_get(LINE, "isolation", v, sizeof(v)));
	assert_string_equal(v, "off");
}

static void test_get_absent(void **state)
{
	(void)state;
	char v[32] = "junk";

	assert_false(cmdline_get(LINE, "missing", v, sizeof(v)));
	assert_string_equal(v, "");
	/* a bare flag has no value */
	assert_false(cmdline_get(LINE, "quiet", v, sizeof(v)));
	assert_false(cmdline_get("", "console", v, sizeof(v)));
	assert_false(cmdline_get("   ", "console", v, sizeof(v)));
	assert_false(cmdline_get(LINE, "", v, sizeof(v)));
}

static void test_get_whole_words_only(void **state)
{
	(void)state;
	char v[32];

	/* neither a prefix nor a suffix of a key matches */
	assert_false(cmdline_get("mytest=1 tests=2 test2=3", "test", v, sizeof(v)));
	assert_false(cmdline_get("console=com1", "con", v, sizeof(v)));
	assert_false(cmdline_get("console=com1", "console=com", v, sizeof(v)));
	/* a value containing the key does not confuse the search */
	assert_true(cmdline_get("a=smp=4 smp=2", "smp", v, sizeof(v)));
	assert_string_equal(v, "2");
	assert_true(cmdline_get("a=smp=4", "a", v, sizeof(v)));
	assert_string_equal(v, "smp=4");
}

static void test_get_last_wins(void **state)
{
	(void)state;
	char v[32];

	assert_true(cmdline_get("smp=2 smp=4", "smp", v, sizeof(v)));
	assert_string_equal(v, "4");
	/* a later bare word does not hide an earlier value */
	assert_true(cmdline_get("smp=2 smp", "smp", v, sizeof(v)));
	assert_string_equal(v, "2");
}

static void test_get_empty_value(void **state)
{
	(void)state;
	char v[8] = "junk";

	assert_true(cmdline_get("console=", "console", v, sizeof(v)));
	assert_string_equal(v, "");
}

static void test_get_separators(void **state)
{
	(void)state;
	char v[32];

	assert_true(cmdline_get("\t a=1\r\nb=2\n", "b", v, sizeof(v)));
	assert_string_equal(v, "2");
	assert_true(cmdline_get("\t a=1\r\nb=2\n", "a", v, sizeof(v)));
	assert_string_equal(v, "1");
}

static void test_get_buffer_size(void **state)
{
	(void)state;
	char v[5];

	assert_true(cmdline_get("k=abcd", "k", v, sizeof(v)));
	assert_string_equal(v, "abcd");
	/* one byte too long: refused, not truncated */
	assert_false(cmdline_get("k=abcde", "k", v, sizeof(v)));
	assert_string_equal(v, "");
	/* zero-sized output is never written */
	assert_false(cmdline_get("k=", "k", v, 0));
	assert_true(cmdline_get("k=", "k", v, 1));
	assert_string_equal(v, "");
}

static void test_flag(void **state)
{
	(void)state;

	assert_true(cmdline_flag(LINE, "quiet"));
	assert_false(cmdline_flag(LINE, "verbose"));
	assert_false(cmdline_flag(LINE, "isolation")); /* =off */
	assert_true(cmdline_flag("a=1 b=on c=yes d=true", "a"));
	assert_true(cmdline_flag("a=1 b=on c=yes d=true", "b"));
	assert_true(cmdline_flag("a=1 b=on c=yes d=true", "c"));
	assert_true(cmdline_flag("a=1 b=on c=yes d=true", "d"));
	assert_false(cmdline_flag("a=0 b=off c=no d=false e= f=maybe", "a"));
	assert_false(cmdline_flag("a=0 b=off c=no d=false e= f=maybe", "b"));
	assert_false(cmdline_flag("a=0 b=off c=no d=false e= f=maybe", "c"));
	assert_false(cmdline_flag("a=0 b=off c=no d=false e= f=maybe", "d"));
	assert_false(cmdline_flag("a=0 b=off c=no d=false e= f=maybe", "e"));
	assert_false(cmdline_flag("a=0 b=off c=no d=false e= f=maybe", "f"));
	/* values are exact words: no prefixes, case matters */
	assert_false(cmdline_flag("a=one", "a"));
	assert_false(cmdline_flag("a=ON", "a"));
	/* last occurrence wins, bare or not */
	assert_false(cmdline_flag("quiet quiet=off", "quiet"));
	assert_true(cmdline_flag("quiet=off quiet", "quiet"));
	assert_false(cmdline_flag("quieter", "quiet"));
	assert_false(cmdline_flag("", "quiet"));
}

static void test_u64(void **state)
{
	(void)state;
	uint64_t n = 77;

	assert_true(cmdline_get_u64(LINE, "smp", &n));
	assert_int_equal(n, 2);
	assert_true(cmdline_get_u64("m=0x1F", "m", &n));
	assert_int_equal(n, 31);
	assert_true(cmdline_get_u64("m=0X10", "m", &n));
	assert_int_equal(n, 16);
	assert_true(cmdline_get_u64("m=0", "m", &n));
	assert_int_equal(n, 0);
	assert_true(cmdline_get_u64("m=18446744073709551615", "m", &n));
	assert_true(n == UINT64_MAX);
	assert_true(cmdline_get_u64("m=0xffffffffffffffff", "m", &n));
	assert_true(n == UINT64_MAX);

	n = 77;
	assert_false(cmdline_get_u64("m=18446744073709551616", "m", &n));
	assert_false(cmdline_get_u64("m=0x10000000000000000", "m", &n));
	assert_false(cmdline_get_u64("m=", "m", &n));
	assert_false(cmdline_get_u64("m=0x", "m", &n));
	assert_false(cmdline_get_u64("m=12k", "m", &n));
	assert_false(cmdline_get_u64("m=-1", "m", &n));
	assert_false(cmdline_get_u64("m=1f", "m", &n));
	assert_false(cmdline_get_u64("m=0xg", "m", &n));
	assert_false(cmdline_get_u64("m", "m", &n));
	assert_false(cmdline_get_u64(LINE, "m", &n));
	assert_int_equal(n, 77);
}

static void test_list(void **state)
{
	(void)state;

	assert_true(cmdline_list_contains("a,b", "a"));
	assert_true(cmdline_list_contains("a,b", "b"));
	assert_false(cmdline_list_contains("a,b", "c"));
	assert_false(cmdline_list_contains("abc,b", "a"));
	assert_false(cmdline_list_contains("a,b", "ab"));
	assert_false(cmdline_list_contains("a,b", "a,b"));
	assert_true(cmdline_list_contains("frame", "frame"));
	assert_false(cmdline_list_contains("", "frame"));
	assert_false(cmdline_list_contains(",,", "frame"));
	assert_false(cmdline_list_contains(",,", ""));
	assert_true(cmdline_list_contains(",x,,y,", "y"));
	assert_true(cmdline_list_contains("all", "anything"));
	assert_true(cmdline_list_contains("x,all", "anything"));
	assert_false(cmdline_list_contains("allx,xall", "anything"));
}

static void test_list_from_cmdline(void **state)
{
	(void)state;
	char v[64];

	assert_true(cmdline_get("console=com1 test=frame,sched smp=2", "test", v, sizeof(v)));
	assert_true(cmdline_list_contains(v, "sched"));
	assert_false(cmdline_list_contains(v, "smp"));
}

static void test_long_line(void **state)
{
	(void)state;
	size_t n = 100000;
	char *line = malloc(n + 16);
	char v[8];

	assert_non_null(line);
	memset(line, 'x', n);
	strcpy(line + n, " k=v");
	assert_true(cmdline_get(line, "k", v, sizeof(v)));
	assert_string_equal(v, "v");
	assert_false(cmdline_flag(line, "x"));
	free(line);
}

/* Printable ASCII passes; every other byte class is found at its offset. */
static void test_bad_byte(void **state)
{
	(void)state;
	const char *ok = "console=com1 domains=xa,xb test=all !~";
	assert_int_equal(cmdline_bad_byte(ok, strlen(ok)), strlen(ok));
	assert_int_equal(cmdline_bad_byte("", 0), 0);

	static const char refused[] = {'\x1b', '\n',   '\r',   '\t',   '\0',  '\x01',
				       '\x1f', '\x7f', '\x80', '\x9b', '\xff'};
	for (unsigned i = 0; i < sizeof(refused); i++) {
		char line[] = "quiet a=b";
		line[6] = refused[i];
		assert_int_equal(cmdline_bad_byte(line, sizeof(line) - 1), 6);
	}
	/* Only the first len bytes are looked at. */
	assert_int_equal(cmdline_bad_byte("ab\x1b", 2), 2);
}

static void test_list_empty_item(void **state)
{
	(void)state;
	assert_int_equal(cmdline_list_empty_item("xa"), 0);
	assert_int_equal(cmdline_list_empty_item("xa,xb,xc"), 0);
	assert_int_equal(cmdline_list_empty_item(""), 1);
	assert_int_equal(cmdline_list_empty_item(","), 1);
	assert_int_equal(cmdline_list_empty_item(",xa"), 1);
	assert_int_equal(cmdline_list_empty_item("xa,"), 2);
	assert_int_equal(cmdline_list_empty_item("xa,,xb"), 2);
	assert_int_equal(cmdline_list_empty_item("xa,xb,"), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_basic),
		cmocka_unit_test(test_get_absent),
		cmocka_unit_test(test_get_whole_words_only),
		cmocka_unit_test(test_get_last_wins),
		cmocka_unit_test(test_get_empty_value),
		cmocka_unit_test(test_get_separators),
		cmocka_unit_test(test_get_buffer_size),
		cmocka_unit_test(test_flag),
		cmocka_unit_test(test_u64),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_list_from_cmdline),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_bad_byte),
		cmocka_unit_test(test_list_empty_item),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
