/*
 * Host tests for kernel/lib/ctl.c: line assembly, tokenizing, command lookup
 * and reply framing, fed well-formed and hostile input alike (run under
 * ASan/UBSan, so an overrun anywhere fails the test).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <lib/ctl.h>

/* Everything the session wrote, as one growing string. */
struct sink {
	char *buf;
	size_t len, cap;
};

static struct sink out;

static void sink_write(void *ctx, const char *s, size_t len)
{
	struct sink *k = ctx;

	if (k->len + len + 1 > k->cap) {
		k->cap = (k->len + len + 1) * 2;
		k->buf = realloc(k->buf, k->cap);
		assert_non_null(k->buf);
	}
	memcpy(k->buf + k->len, s, len);
	k->len += len;
	k->buf[k->len] = '\0';
}

static int run_echo(struct ctl_reply *r, int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		ctl_print(r, "%d:%s", i, argv[i]);
	return 0;
}

static int run_inject(struct ctl_reply *r, int argc, char **argv)
{
	(void)argc;
	ctl_print(r, "injecting %s into %s", argv[2], argv[1]);
	return 0;
}

static int run_fail(struct ctl_reply *r, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return ctl_fail(r, "boom: %d", 42);
}

static int run_silent(struct ctl_reply *r, int argc, char **argv)
{
	(void)r;
	(void)argc;
	(void)argv;
	return -1;
}

static int run_ugly(struct ctl_reply *r, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctl_print(r, "a\nb");
	ctl_print(r, "x\x01y\rz\x7f");
	ctl_print(r, "OK");
	return ctl_fail(r, "bad\nreason\r");
}

static int run_long(struct ctl_reply *r, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	char big[1000];
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ctl_print(r, "%s", big);
	return ctl_fail(r, "%s", big);
}

static const struct ctl_cmd cmds[] = {
	{"echo", "[WORD...]", 0, 7, "print the words", run_echo},
	{"inject", "DOMAIN FAULT", 2, 2, "make DOMAIN take FAULT", run_inject},
	{"fail", "", 0, 0, "always fails", run_fail},
	{"silent", "", 0, 0, "fails without a reason", run_silent},
	{"ugly", "", 0, 0, "prints things that look like framing", run_ugly},
	{"long", "", 0, 0, "prints too much", run_long},
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static struct ctl_session session;

static int setup(void **state)
{
	(void)state;
	out.len = 0;
	if (out.buf)
		out.buf[0] = '\0';
	ctl_session_init(&session, cmds, NCMDS, sink_write, &out);
	return 0;
}

static void feed_n(const void *data, size_t n)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < n; i++)
		ctl_session_byte(&session, p[i]);
}

static void feed(const char *s)
{
	feed_n(s, strlen(s));
}

/* Feed s and check the whole output since the last call. */
static void expect(const char *s, const char *reply)
{
	out.len = 0;
	if (out.buf)
		out.buf[0] = '\0';
	feed(s);
	assert_string_equal(out.len ? out.buf : "", reply);
}

/*
 * Every line of the output must be a data line (two spaces, then printable
 * ASCII) or a status line; returns the number of status lines.
 */
static int count_status(void)
{
	int status = 0;
	size_t i = 0;

	while (i < out.len) {
		const char *line = out.buf + i;
		const char *nl = memchr(line, '\n', out.len - i);
		assert_non_null(nl);
		size_t n = (size_t)(nl - line);
		i += n + 1;
		/* a reply to a framed request: "#ID " first (garbage may frame one) */
		if (n > 0 && line[0] == '#') {
			const char *sp = memchr(line, ' ', n);
			assert_non_null(sp);
			n -= (size_t)(sp + 1 - line);
			line = sp + 1;
		}
		for (size_t k = 0; k < n; k++)
			assert_true(line[k] >= 0x20 && line[k] < 0x7f);
		if (n == 2 && memcmp(line, "OK", 2) == 0)
			status++;
		else if (n >= 4 && memcmp(line, "ERR ", 4) == 0)
			status++;
		else
			assert_true(n >= 2 && line[0] == ' ' && line[1] == ' ');
	}
	return status;
}

static void test_simple_commands(void **state)
{
	(void)state;
	expect("echo\n", "OK\n");
	expect("echo a b\n", "  1:a\n  2:b\nOK\n");
	expect("inject net pagefault\n", "  injecting pagefault into net\nOK\n");
	expect("fail\n", "ERR boom: 42\n");
	expect("silent\n", "ERR failed\n");
}

static void test_line_endings(void **state)
{
	(void)state;
	expect("echo a\r", "  1:a\nOK\n");
	expect("\n", ""); /* the LF of the CR LF split across calls */
	expect("echo a\r\n", "  1:a\nOK\n");
	expect("echo a\n\r", "  1:a\nOK\n");
	expect("echo a\r\r\necho b\n", "  1:a\nOK\n  1:b\nOK\n");
	expect("echo a\n\necho b\r\n\r\n", "  1:a\nOK\n  1:b\nOK\n");
	expect("\r\n\n\r\r\r\n\n", "");
	/* an unterminated line waits */
	expect("echo c", "");
	expect("\n", "  1:c\nOK\n");
}

static void test_blank_and_spaces(void **state)
{
	(void)state;
	expect("   \n", "");
	expect("\t \t\n", "");
	expect("  echo   a \t b  \n", "  1:a\n  2:b\nOK\n");
	expect("echo\ta\n", "  1:a\nOK\n");
}

static void test_unknown_and_usage(void **state)
{
	(void)state;
	expect("foo\n", "ERR unknown command 'foo' (try 'help')\n");
	expect("Echo\n", "ERR unknown command 'Echo' (try 'help')\n");
	expect("inject\n", "ERR usage: inject DOMAIN FAULT\n");
	expect("inject net\n", "ERR usage: inject DOMAIN FAULT\n");
	expect("inject a b c\n", "ERR usage: inject DOMAIN FAULT\n");
	expect("fail x\n", "ERR usage: fail\n");
	expect("echo 1 2 3 4 5 6 7\n", "  1:1\n  2:2\n  3:3\n  4:4\n  5:5\n  6:6\n  7:7\nOK\n");
}

static void test_unknown_long_name(void **state)
{
	(void)state;
	char line[CTL_LINE_MAX + 1];

	memset(line, 'z', CTL_LINE_MAX - 1);
	line[CTL_LINE_MAX - 1] = '\n';
	line[CTL_LINE_MAX] = '\0';
	expect(line,
	       "ERR unknown command 'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz' (try 'help')\n");
}

static void test_too_many_words(void **state)
{
	(void)state;
	expect("echo 1 2 3 4 5 6 7 8\n", "ERR too many words (max 8)\n");
	expect("a b c d e f g h i j k l m n o p\n", "ERR too many words (max 8)\n");
	/* trailing spaces do not count as words */
	expect("echo 1 2 3 4 5 6 7        \n",
	       "  1:1\n  2:2\n  3:3\n  4:4\n  5:5\n  6:6\n  7:7\nOK\n");
}

static void test_help(void **state)
{
	(void)state;
	expect("help\n", "  help [COMMAND]  -- list commands, or describe one\n"
			 "  echo [WORD...]  -- print the words\n"
			 "  inject DOMAIN FAULT  -- make DOMAIN take FAULT\n"
			 "  fail  -- always fails\n"
			 "  silent  -- fails without a reason\n"
			 "  ugly  -- prints things that look like framing\n"
			 "  long  -- prints too much\n"
			 "OK\n");
	expect("help inject\n", "  inject DOMAIN FAULT  -- make DOMAIN take FAULT\nOK\n");
	expect("help help\n", "  help [COMMAND]  -- list commands, or describe one\nOK\n");
	expect("help nope\n", "ERR unknown command 'nope'\n");
	expect("help a b\n", "ERR usage: help [COMMAND]\n");
}

static int run_own_help(struct ctl_reply *r, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctl_print(r, "custom");
	return 0;
}

static void test_table_help_overrides(void **state)
{
	(void)state;
	static const struct ctl_cmd own[] = {
		{"help", "", 0, 0, "custom help", run_own_help},
	};
	struct ctl_reply r = {.write = sink_write, .ctx = &out};
	char line[] = "help";

	out.len = 0;
	ctl_execute(own, 1, line, &r);
	assert_string_equal(out.buf, "  custom\nOK\n");
}

static void test_empty_table(void **state)
{
	(void)state;
	ctl_session_init(&session, NULL, 0, sink_write, &out);
	expect("help\n", "  help [COMMAND]  -- list commands, or describe one\nOK\n");
	expect("echo\n", "ERR unknown command 'echo' (try 'help')\n");
}

static void test_framing_of_handler_output(void **state)
{
	(void)state;
	expect("ugly\n", "  a\n  b\n  x?y?z?\n  OK\nERR bad?reason?\n");
	assert_int_equal(count_status(), 1);
}

static void test_output_truncation(void **state)
{
	(void)state;
	out.len = 0;
	feed("long\n");
	assert_int_equal(count_status(), 1);
	/* data line: prefix + 255 bytes + LF; reason cut to CTL_ERR_MAX-1 */
	const char *status = strstr(out.buf, "ERR ");
	assert_non_null(status);
	assert_int_equal(status - out.buf, 2 + 255 + 1);
	assert_int_equal(strlen(status), 4 + CTL_ERR_MAX - 1 + 1);
}

static void test_max_length_line(void **state)
{
	(void)state;
	char line[CTL_LINE_MAX + 2];

	/* exactly CTL_LINE_MAX-1 bytes is fine */
	memset(line, ' ', sizeof(line));
	memcpy(line, "echo", 4);
	line[CTL_LINE_MAX - 2] = 'x';
	line[CTL_LINE_MAX - 1] = '\n';
	line[CTL_LINE_MAX] = '\0';
	expect(line, "  1:x\nOK\n");
	/* one more byte is not */
	line[CTL_LINE_MAX - 1] = 'y';
	line[CTL_LINE_MAX] = '\n';
	line[CTL_LINE_MAX + 1] = '\0';
	expect(line, "ERR line too long (max 127 bytes)\n");
	/* and the session is back to normal */
	expect("echo ok\n", "  1:ok\nOK\n");
}

static void test_huge_line(void **state)
{
	(void)state;
	size_t n = 10 * 1024;
	char *line = malloc(n + 1);

	assert_non_null(line);
	memset(line, 'A', n - 1);
	line[n - 1] = '\n';
	line[n] = '\0';
	expect(line, "ERR line too long (max 127 bytes)\n");
	/* spaces count: a huge line is too long even if it is blank */
	memset(line, ' ', n - 1);
	expect(line, "ERR line too long (max 127 bytes)\n");
	free(line);
	expect("echo after\n", "  1:after\nOK\n");
}

static void test_invalid_bytes(void **state)
{
	(void)state;
	expect("echo\x07\n", "ERR invalid byte 0x07 at column 5\n");
	expect("\x1b[A\n", "ERR invalid byte 0x1b at column 1\n");
	expect("ab\x7f\n", "ERR invalid byte 0x7f at column 3\n");
	expect("ab\x80\n", "ERR invalid byte 0x80 at column 3\n");
	expect("\xff\xfe\n", "ERR invalid byte 0xff at column 1\n");
	/* the first problem is reported, once per line */
	expect("e\x04\x02\x03\n", "ERR invalid byte 0x04 at column 2\n");
	/* a tab counts as one column */
	expect("\tx\x05\n", "ERR invalid byte 0x05 at column 3\n");
	/* the column restarts on every line */
	expect("ab\ncd\x06\n", "ERR unknown command 'ab' (try 'help')\n"
			       "ERR invalid byte 0x06 at column 3\n");
}

static void test_nul_bytes(void **state)
{
	(void)state;
	const char line[] = "echo a\0b\n";

	out.len = 0;
	feed_n(line, sizeof(line) - 1);
	assert_string_equal(out.buf, "ERR invalid byte 0x00 at column 7\n");
	out.len = 0;
	feed_n("\0\0\0\n", 4);
	assert_string_equal(out.buf, "ERR invalid byte 0x00 at column 1\n");
}

static void test_long_then_invalid(void **state)
{
	(void)state;
	char line[CTL_LINE_MAX + 4];

	/* too long is found first, so the later bad byte is not reported */
	memset(line, 'a', CTL_LINE_MAX);
	line[CTL_LINE_MAX] = '\x04';
	line[CTL_LINE_MAX + 1] = '\n';
	out.len = 0;
	feed_n(line, CTL_LINE_MAX + 2);
	assert_string_equal(out.buf, "ERR line too long (max 127 bytes)\n");
	/* and the other way round */
	line[5] = '\x02';
	out.len = 0;
	feed_n(line, CTL_LINE_MAX + 2);
	assert_string_equal(out.buf, "ERR invalid byte 0x02 at column 6\n");
}

static void test_error_without_line_end_waits(void **state)
{
	(void)state;
	expect("\x04\x02garbage", "");
	expect("\r\n", "ERR invalid byte 0x04 at column 1\n");
}

/* xorshift64: reproducible garbage */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void test_binary_garbage(void **state)
{
	(void)state;
	size_t n = 1 << 20;
	uint8_t *buf = malloc(n);
	size_t ends = 0;

	assert_non_null(buf);
	for (size_t i = 0; i < n; i++) {
		buf[i] = (uint8_t)next_rand();
		if (buf[i] == '\r' || buf[i] == '\n')
			ends++;
	}
	out.len = 0;
	feed_n(buf, n);
	int status = count_status();
	assert_true(status > 0);
	assert_true((size_t)status <= ends);
	free(buf);
	feed("\n"); /* end whatever the garbage left pending */
	expect("echo fine\n", "  1:fine\nOK\n");
}

static void test_printable_garbage(void **state)
{
	(void)state;
	/* words that are mostly not commands, random argument counts */
	static const char alphabet[] = "echo injct failhlp \r\n";
	size_t n = 1 << 18, ends = 0;

	out.len = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t b = (uint8_t)alphabet[next_rand() % (sizeof(alphabet) - 1)];
		if (b == '\r' || b == '\n')
			ends++;
		ctl_session_byte(&session, b);
	}
	int status = count_status();
	assert_true(status > 0);
	assert_true((size_t)status <= ends);
}

static void test_tokenize_direct(void **state)
{
	(void)state;
	char *argv[CTL_MAX_ARGS];
	char err[CTL_ERR_MAX] = "";
	char a[] = "";
	char b[] = "   ";
	char c[] = " one  two\tthree ";
	char d[] = "1 2 3 4 5 6 7 8";
	char e[] = "1 2 3 4 5 6 7 8 9";

	assert_int_equal(ctl_tokenize(a, argv, err, sizeof(err)), 0);
	assert_int_equal(ctl_tokenize(b, argv, err, sizeof(err)), 0);
	assert_int_equal(ctl_tokenize(c, argv, err, sizeof(err)), 3);
	assert_string_equal(argv[0], "one");
	assert_string_equal(argv[1], "two");
	assert_string_equal(argv[2], "three");
	assert_int_equal(ctl_tokenize(d, argv, err, sizeof(err)), 8);
	assert_string_equal(argv[7], "8");
	assert_int_equal(ctl_tokenize(e, argv, err, sizeof(err)), -1);
	assert_string_equal(err, "too many words (max 8)");
	/* a tiny error buffer is never overrun */
	char small[4];
	char f[] = "1 2 3 4 5 6 7 8 9";
	assert_int_equal(ctl_tokenize(f, argv, small, sizeof(small)), -1);
	assert_string_equal(small, "too");
}

static void test_lookup_direct(void **state)
{
	(void)state;
	char err[CTL_ERR_MAX];
	char *argv[] = {"inject", "a", "b"};

	assert_ptr_equal(ctl_lookup(cmds, NCMDS, 3, argv, err, sizeof(err)), &cmds[1]);
	assert_null(ctl_lookup(cmds, NCMDS, 2, argv, err, sizeof(err)));
	assert_string_equal(err, "usage: inject DOMAIN FAULT");
	char *argv2[] = {"help"};
	assert_null(ctl_lookup(cmds, NCMDS, 1, argv2, err, sizeof(err)));
	assert_string_equal(err, "unknown command 'help' (try 'help')");
}

static void test_line_direct(void **state)
{
	(void)state;
	struct ctl_line l;
	const char *s = "hi there\r\n";

	ctl_line_init(&l);
	for (size_t i = 0; i < strlen(s) - 2; i++)
		assert_int_equal(ctl_line_feed(&l, (uint8_t)s[i]), CTL_FEED_MORE);
	assert_int_equal(ctl_line_feed(&l, '\r'), CTL_FEED_LINE);
	assert_string_equal(l.buf, "hi there");
	assert_int_equal(ctl_line_feed(&l, '\n'), CTL_FEED_MORE);
	assert_int_equal(ctl_line_feed(&l, '\n'), CTL_FEED_MORE); /* blank line */
	assert_int_equal(ctl_line_feed(&l, 0), CTL_FEED_MORE);
	assert_int_equal(ctl_line_feed(&l, '\n'), CTL_FEED_ERROR);
	assert_string_equal(l.err, "invalid byte 0x00 at column 1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_simple_commands, setup),
		cmocka_unit_test_setup(test_line_endings, setup),
		cmocka_unit_test_setup(test_blank_and_spaces, setup),
		cmocka_unit_test_setup(test_unknown_and_usage, setup),
		cmocka_unit_test_setup(test_unknown_long_name, setup),
		cmocka_unit_test_setup(test_too_many_words, setup),
		cmocka_unit_test_setup(test_help, setup),
		cmocka_unit_test_setup(test_table_help_overrides, setup),
		cmocka_unit_test_setup(test_empty_table, setup),
		cmocka_unit_test_setup(test_framing_of_handler_output, setup),
		cmocka_unit_test_setup(test_output_truncation, setup),
		cmocka_unit_test_setup(test_max_length_line, setup),
		cmocka_unit_test_setup(test_huge_line, setup),
		cmocka_unit_test_setup(test_invalid_bytes, setup),
		cmocka_unit_test_setup(test_nul_bytes, setup),
		cmocka_unit_test_setup(test_long_then_invalid, setup),
		cmocka_unit_test_setup(test_error_without_line_end_waits, setup),
		cmocka_unit_test_setup(test_binary_garbage, setup),
		cmocka_unit_test_setup(test_printable_garbage, setup),
		cmocka_unit_test_setup(test_tokenize_direct, setup),
		cmocka_unit_test_setup(test_lookup_direct, setup),
		cmocka_unit_test_setup(test_line_direct, setup),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	free(out.buf);
	return rc;
}
