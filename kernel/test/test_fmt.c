/*
 * Host tests for kernel/lib/fmt.c. Each case states the expected text and
 * is also checked against the host C library's snprintf, so an expectation
 * cannot quietly drift from what C specifies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <lib/fmt.h>

/* fmt_snprintf must print `want` and return its length, like snprintf. */
#define EQ(want, ...)                                                                              \
	do {                                                                                       \
		char got_[256], libc_[256];                                                        \
		int n_ = fmt_snprintf(got_, sizeof(got_), __VA_ARGS__);                            \
		int m_ = snprintf(libc_, sizeof(libc_), __VA_ARGS__);                              \
		assert_string_equal(libc_, want);                                                  \
		assert_string_equal(got_, want);                                                   \
		assert_int_equal(n_, m_);                                                          \
	} while (0)

/* Where C leaves the text to the implementation: only ours is checked. */
#define OURS(want, ...)                                                                            \
	do {                                                                                       \
		char got_[256];                                                                    \
		int n_ = fmt_snprintf(got_, sizeof(got_), __VA_ARGS__);                            \
		assert_string_equal(got_, want);                                                   \
		assert_int_equal(n_, (int)strlen(want));                                           \
	} while (0)

static void test_signed(void **state)
{
	(void)state;
	EQ("0", "%d", 0);
	EQ("42", "%d", 42);
	EQ("-42", "%d", -42);
	EQ("-42", "%i", -42);
	EQ("2147483647", "%d", INT32_MAX);
	EQ("-2147483648", "%d", INT32_MIN);
	EQ("-9223372036854775808", "%lld", (long long)INT64_MIN);
	EQ("9223372036854775807", "%ld", (long)INT64_MAX);
	EQ("-1", "%li", -1L);
	EQ("-5", "%zd", (ptrdiff_t)-5);
	EQ("-56", "%hhd", (signed char)-56);
	EQ("-1234", "%hd", (short)-1234);
	EQ("-7", "%jd", (intmax_t)-7);
	EQ("-7", "%td", (ptrdiff_t)-7);
}

static void test_unsigned(void **state)
{
	(void)state;
	EQ("0", "%u", 0u);
	EQ("4294967295", "%u", UINT32_MAX);
	EQ("18446744073709551615", "%lu", (unsigned long)UINT64_MAX);
	EQ("18446744073709551615", "%llu", (unsigned long long)UINT64_MAX);
	EQ("18446744073709551615", "%zu", (size_t)SIZE_MAX);
	EQ("200", "%hhu", (unsigned char)200);
	EQ("65535", "%hu", (unsigned short)65535);
	EQ("17", "%o", 15u);
}

static void test_hex(void **state)
{
	(void)state;
	EQ("0", "%x", 0u);
	EQ("deadbeef", "%x", 0xdeadbeefu);
	EQ("DEADBEEF", "%X", 0xdeadbeefu);
	EQ("ffffffffffffffff", "%lx", (unsigned long)UINT64_MAX);
	EQ("FFFFFFFFFFFFFFFF", "%llX", (unsigned long long)UINT64_MAX);
	EQ("1000", "%zx", (size_t)0x1000);
	EQ("0x1f", "%#x", 31u);
	EQ("0X1F", "%#X", 31u);
	EQ("0", "%#x", 0u); /* no prefix on zero */
	EQ("0x0000ff", "%#08x", 255u);
	EQ("000000ff", "%08x", 255u);
	EQ("ff      |", "%-8x|", 255u);
	EQ("  0x00ff", "%#8.4x", 255u);
}

static void test_pointer(void **state)
{
	(void)state;
	/* %p is implementation-defined; ours is 0x and lower-case hex */
	OURS("0x1234", "%p", (void *)0x1234);
	OURS("0xffff800000000000", "%p", (void *)0xffff800000000000ULL);
	OURS("0x0", "%p", (void *)0);
	OURS("  0x1234", "%8p", (void *)0x1234);
	OURS("0x1234  |", "%-8p|", (void *)0x1234);
}

static void test_string_and_char(void **state)
{
	(void)state;
	EQ("hello", "%s", "hello");
	EQ("", "%s", "");
	EQ("   hi", "%5s", "hi");
	EQ("hi   |", "%-5s|", "hi");
	EQ("hel", "%.3s", "hello");
	EQ("  hel", "%5.3s", "hello");
	EQ("hel  |", "%-5.3s|", "hello");
	EQ("", "%.0s", "hello");
	EQ("hello", "%.10s", "hello");
	EQ("hel", "%.*s", 3, "hello");
	EQ("  hel", "%*.*s", 5, 3, "hello");
	EQ("hi   |", "%*s|", -5, "hi");
	EQ("x", "%c", 'x');
	EQ("  x", "%3c", 'x');
	EQ("x  |", "%-3c|", 'x');
	EQ("%", "%%");
	EQ("100%", "%d%%", 100);
	EQ("a%b", "a%%b");
}

static void test_precision_not_nul_terminated(void **state)
{
	(void)state;
	/* with a precision, no byte past it may be read (ASan watches) */
	char abc[3] = {'a', 'b', 'c'};
	char out[8];

	assert_int_equal(fmt_snprintf(out, sizeof(out), "%.3s", abc), 3);
	assert_string_equal(out, "abc");
	assert_int_equal(fmt_snprintf(out, sizeof(out), "%.2s", abc), 2);
	assert_string_equal(out, "ab");
}

static void test_null_string(void **state)
{
	(void)state;
	char out[32];
	const char *volatile null = NULL; /* hidden from gcc's format check */

	/* C leaves NULL undefined; ours prints a marker instead of faulting */
	assert_int_equal(fmt_snprintf(out, sizeof(out), "%s", null), 6);
	assert_string_equal(out, "(null)");
	assert_int_equal(fmt_snprintf(out, sizeof(out), "[%8s]", null), 10);
	assert_string_equal(out, "[  (null)]");
}

static void test_width_and_zero(void **state)
{
	(void)state;
	EQ("   42", "%5d", 42);
	EQ("42   |", "%-5d|", 42);
	EQ("00042", "%05d", 42);
	EQ("-0042", "%05d", -42);
	EQ("  -42", "%5d", -42);
	EQ("-42  |", "%-5d|", -42);
	EQ("42", "%1d", 42);
	EQ("   42", "%*d", 5, 42);
	EQ("42   |", "%*d|", -5, 42);
	EQ("+42", "%+d", 42);
	EQ("-42", "%+d", -42);
	EQ(" 42", "% d", 42);
	EQ("+0042", "%+05d", 42);
	EQ("00000000000000000042", "%020lu", 42UL);
}

static void test_integer_precision(void **state)
{
	(void)state;
	EQ("00042", "%.5d", 42);
	EQ("-00042", "%.5d", -42);
	EQ("  00042", "%7.5d", 42);
	EQ("", "%.0d", 0);
	EQ("     ", "%5.0d", 0);
	EQ("0", "%.1d", 0);
	EQ("000ff", "%.5x", 255u);
}

static void test_mixed(void **state)
{
	(void)state;
	EQ("cpu 3: frame 0x1000 of 512 (ok)", "cpu %u: frame %#lx of %zu (%s)", 3u, 0x1000UL,
	   (size_t)512, "ok");
	EQ("[ 1][-2][c][str][ff]", "[%2d][%-2d][%c][%s][%x]", 1, -2, 'c', "str", 255u);
	EQ("no conversions", "no conversions");
	EQ("", "%s", "");
}

static void test_truncation(void **state)
{
	(void)state;
	const char *want = "value=12345 name=maple";
	const int len = (int)strlen(want);
	char buf[64];

	/* every buffer size: the prefix that fits, always terminated, and the
	 * return value is the full length */
	for (size_t size = 1; size <= (size_t)len + 2; size++) {
		memset(buf, 'Z', sizeof(buf));
		int n = fmt_snprintf(buf, size, "value=%d name=%s", 12345, "maple");
		assert_int_equal(n, len);
		size_t kept = size - 1 < (size_t)len ? size - 1 : (size_t)len;
		assert_memory_equal(buf, want, kept);
		assert_int_equal(buf[kept], '\0');
		/* nothing written past the buffer */
		assert_int_equal(buf[size], 'Z');
	}
	/* size 0 writes nothing at all, not even a NUL */
	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(fmt_snprintf(buf, 0, "value=%d", 12345), 11);
	assert_int_equal(buf[0], 'Z');
	assert_int_equal(fmt_snprintf(NULL, 0, "%s and %s", "this", "that"), 13);
	/* padding counts too */
	assert_int_equal(fmt_snprintf(buf, 4, "%20d", 1), 20);
	assert_string_equal(buf, "   ");
}

static int __attribute__((format(printf, 3, 4))) wrap(char *buf, size_t size, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	int n = fmt_vsnprintf(buf, size, f, ap);
	va_end(ap);
	return n;
}

static void test_vsnprintf(void **state)
{
	(void)state;
	char out[8];

	assert_int_equal(wrap(out, sizeof(out), "%d-%s-%c", 7, "xyz", 'q'), 7);
	assert_string_equal(out, "7-xyz-q");
	assert_int_equal(wrap(out, 4, "%d-%s", 12345, "x"), 7);
	assert_string_equal(out, "123");
}

static void test_odd_formats(void **state)
{
	(void)state;
	char out[32];

	/* a lone % at the end prints nothing and does not read past the end */
	const char *trailing = "abc%";
	assert_int_equal(fmt_snprintf(out, sizeof(out), trailing), 3);
	assert_string_equal(out, "abc");
	/* unknown conversions are printed as they are */
	const char *unknown = "%q|%y";
	assert_int_equal(fmt_snprintf(out, sizeof(out), unknown), 5);
	assert_string_equal(out, "%q|%y");
	/* a NUL character is output and counted */
	assert_int_equal(fmt_snprintf(out, sizeof(out), "a%cb", 0), 3);
	assert_memory_equal(out, "a\0b", 4);
}

/*
 * Flag combinations gcc's format check rejects in a literal (it says the
 * flag is ignored), reached through a format it cannot see.
 */
static void dyn(const char *want, const char *f, ...)
{
	char got[64], libc[64];
	va_list ap, ap2;

	va_start(ap, f);
	va_copy(ap2, ap);
	int n = fmt_vsnprintf(got, sizeof(got), f, ap);
	int m = vsnprintf(libc, sizeof(libc), f, ap2);
	va_end(ap2);
	va_end(ap);
	assert_string_equal(libc, want);
	assert_string_equal(got, want);
	assert_int_equal(n, m);
}

static void test_ignored_flags(void **state)
{
	(void)state;
	dyn("42   |", "%-05d|", 42);  /* - wins over 0 */
	dyn("  00042", "%07.5d", 42); /* 0 is ignored with a precision */
	dyn("   ab", "%05s", "ab");
}

/* Bugs found in review: sign flags on unsigned conversions, %#o, huge fields. */
static void test_review_fixes(void **state)
{
	(void)state;
	dyn("42", "%+u", 42u);
	dyn("2a", "% x", 42u);
	dyn("0", "%#o", 0u);
	dyn("010", "%#.3o", 8u);
	dyn("010", "%#o", 8u);
	char buf[8];
	/* Formats the compiler cannot see, as a caller's bad format would be. */
	const char *volatile star = "%*d", *volatile huge = "%99999999999d";
	assert_int_equal(fmt_snprintf(buf, sizeof buf, star, -2147483647 - 1, 1), 4096);
	assert_int_equal(fmt_snprintf(buf, sizeof buf, huge, 1), 4096);
	assert_string_equal(buf, "       ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signed),
		cmocka_unit_test(test_unsigned),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_pointer),
		cmocka_unit_test(test_string_and_char),
		cmocka_unit_test(test_precision_not_nul_terminated),
		cmocka_unit_test(test_null_string),
		cmocka_unit_test(test_width_and_zero),
		cmocka_unit_test(test_integer_precision),
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_vsnprintf),
		cmocka_unit_test(test_odd_formats),
		cmocka_unit_test(test_ignored_flags),
		cmocka_unit_test(test_review_fixes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
