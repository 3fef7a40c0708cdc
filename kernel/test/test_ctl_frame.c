/*
 * Host tests for the control console's framing (kernel/lib/ctl.c,
 * docs/console.md): request ids echoed on every reply line, SOH
 * resynchronising a stream a previous client left mid-line, and lost input
 * (ctl_session_lost) answered `ERR overrun` without ever running the
 * damaged line, wherever the loss falls.
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

static char out[1 << 16];
static size_t out_len;

static void sink_write(void *ctx, const char *s, size_t len)
{
	(void)ctx;
	assert_true(out_len + len < sizeof(out));
	memcpy(out + out_len, s, len);
	out_len += len;
	out[out_len] = '\0';
}

/* "count" and "cont" differ by one byte: a lost 'u' must not turn one into
 * the other. Each counts its runs. */
static int ran_count, ran_cont;

static int run_count(struct ctl_reply *r, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctl_print(r, "count %d", ++ran_count);
	return 0;
}

static int run_cont(struct ctl_reply *r, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctl_print(r, "cont %d", ++ran_cont);
	return 0;
}

static int run_echo(struct ctl_reply *r, int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		ctl_print(r, "%s", argv[i]);
	return 0;
}

static const struct ctl_cmd cmds[] = {
	{"count", "", 0, 0, "count a run", run_count},
	{"cont", "", 0, 0, "count a run elsewhere", run_cont},
	{"echo", "[WORD...]", 0, 7, "print the words", run_echo},
};

static struct ctl_session session;

static int setup(void **state)
{
	(void)state;
	out_len = 0;
	out[0] = '\0';
	ran_count = ran_cont = 0;
	ctl_session_init(&session, cmds, sizeof(cmds) / sizeof(cmds[0]), sink_write, NULL);
	return 0;
}

/* Feed s; a '~' in it stands for "bytes were lost here". */
static void feed(const char *s)
{
	for (; *s; s++) {
		if (*s == '~')
			ctl_session_lost(&session);
		else
			ctl_session_byte(&session, (uint8_t)*s);
	}
}

static void expect(const char *s, const char *reply)
{
	out_len = 0;
	out[0] = '\0';
	feed(s);
	assert_string_equal(out, reply);
}

static void test_framed_replies_are_tagged(void **state)
{
	(void)state;
	expect("\00142 echo a b\n", "#42   a\n#42   b\n#42 OK\n");
	expect("\0017 nosuch\n", "#7 ERR unknown command 'nosuch' (try 'help')\n");
	/* columns count from the command, not the id */
	expect("\001123 ab\a\n", "#123 ERR invalid byte 0x07 at column 3\n");
	expect("\001999999999 count\r\n", "#999999999   count 1\n#999999999 OK\n");
	/* unframed lines still get untagged replies (a human with socat) */
	expect("echo x\n", "  x\nOK\n");
	expect("\n   \n", "");
}

static void test_framed_empty_request(void **state)
{
	(void)state;
	expect("\0015 \n", "#5 ERR empty request\n");
	expect("\0015    \r\n", "#5 ERR empty request\n");
}

static void test_bad_ids_go_untagged(void **state)
{
	(void)state;
	const char *bad = "ERR bad request id (1 to 9 digits, then a space)\n";
	expect("\001\n", bad);
	expect("\001 count\n", bad);
	expect("\00112x count\n", bad);
	expect("\00112\n", bad);
	expect("\0011234567890 count\n", bad); /* ten digits */
	expect("\001-1 count\n", bad);
	assert_int_equal(ran_count, 0);
}

static void test_soh_drops_a_half_line(void **state)
{
	(void)state;
	/* finding 1: a client that timed out left "upt"; the next one's
	 * request must run as sent, not as "uptcount" */
	expect("cou", "");
	expect("\0019 count\n", "#9   count 1\n#9 OK\n");
	expect("\0013 ech", "");
	expect("\0014 echo z\n", "#4   z\n#4 OK\n");
	/* a malformed half line is dropped unanswered too */
	expect("aa\a\x80", "");
	expect("\0015 count\n", "#5   count 2\n#5 OK\n");
	char longline[CTL_LINE_MAX * 2];
	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	expect(longline, "");
	expect("\0016 count\n", "#6   count 3\n#6 OK\n");
}

static void test_overrun_is_answered_at_once(void **state)
{
	(void)state;
	/* the id was complete before the loss: tagged, and nothing after the
	 * loss up to the line end runs or is answered again */
	expect("\00142 co~", "#42 ERR overrun\n");
	expect("unt\n", "");
	expect("\00143 count\n", "#43   count 1\n#43 OK\n");
	/* a second loss in the same line: still one reply */
	expect("\00144 co~u~nt\n", "#44 ERR overrun\n");
	/* a loss inside the id: the id cannot be trusted, so untagged */
	expect("\0014~5 count\n", "ERR overrun\n");
	/* a loss between lines damages what follows up to its end */
	expect("~count\n", "ERR overrun\n");
	expect("~\00146 count\n", "ERR overrun\n#46   count 2\n#46 OK\n");
	/* unframed lines are refused the same way */
	expect("cou~nt\n", "ERR overrun\n");
	assert_int_equal(ran_count, 2);
	assert_int_equal(ran_cont, 0);
}

static void test_lost_line_end_damages_only_its_line(void **state)
{
	(void)state;
	/* the LF of #5 was lost: #5 is refused, #6 (after its SOH) runs */
	expect("\0015 count~\0016 count\n", "#5 ERR overrun\n#6   count 1\n#6 OK\n");
	/* the LF of an unframed line was lost: so is the next unframed line,
	 * which the damaged one swallowed */
	expect("count~count\n", "ERR overrun\n");
	assert_int_equal(ran_count, 1);
}

/*
 * Finding 2: a dropped byte must never turn one valid request into another.
 * Drop each byte, and each pair of bytes, of "<SOH>12 count<LF>" in turn,
 * then send an intact "<SOH>13 count<LF>": the damaged request never runs
 * (not as count, and not as cont when the 'u' goes), its reply is `ERR
 * overrun`, tagged #12 only when the id and its space arrived before the
 * loss, and #13 runs exactly once.
 */
static void check_drops(const char *req, const bool *drop, size_t n)
{
	char buf[64];
	size_t k = 0, first = n;

	for (size_t i = 0; i < n; i++) {
		if (drop[i]) {
			if (first == n)
				first = i;
			if (k == 0 || buf[k - 1] != '~')
				buf[k++] = '~';
		} else {
			buf[k++] = req[i];
		}
	}
	buf[k] = '\0';
	setup(NULL);
	feed(buf);
	feed("\00113 count\n");
	const char *tagged = "#12 ERR overrun\n#13   count 1\n#13 OK\n";
	const char *untagged = "ERR overrun\n#13   count 1\n#13 OK\n";
	/* "\00112 " is 4 bytes: a loss at or after index 4 leaves the id whole */
	assert_string_equal(out, first >= 4 ? tagged : untagged);
	assert_int_equal(ran_count, 1);
	assert_int_equal(ran_cont, 0);
}

static void test_every_dropped_byte(void **state)
{
	(void)state;
	const char *req = "\00112 count\n";
	size_t n = strlen(req);
	bool drop[16];

	assert_true(n <= sizeof(drop));
	for (size_t i = 0; i < n; i++) {
		memset(drop, 0, sizeof(drop));
		drop[i] = true;
		check_drops(req, drop, n);
		for (size_t j = i + 1; j < n; j++) {
			drop[j] = true;
			check_drops(req, drop, n);
			drop[j] = false;
		}
	}
}

/* xorshift64: reproducible losses */
static uint64_t rng = 0x2545f4914f6cdd1dULL;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/*
 * 10,000 pipelined requests "<SOH>N echo N", about one byte in 200 lost
 * (not fed, and reported): every reply names an id that was sent, each id is answered
 * at most once, an answered id's reply is either its own echo or `ERR
 * overrun`, every request that lost nothing is answered with its echo, and
 * no reply is anything else.
 */
static void test_pipelined_with_losses(void **state)
{
	(void)state;
	enum { N = 10000 };
	static char answered[N + 1];
	static bool damaged[N + 1];
	int overruns = 0, untagged = 0;

	memset(answered, 0, sizeof(answered));
	for (int id = 1; id <= N; id++) {
		char req[64];
		snprintf(req, sizeof(req), "\001%d echo %d\n", id, id);
		out_len = 0;
		out[0] = '\0';
		for (const char *p = req; *p; p++) {
			if (next_rand() % 200 == 0) {
				ctl_session_lost(&session); /* this byte is lost */
				damaged[id] = true;
				continue;
			}
			ctl_session_byte(&session, (uint8_t)*p);
		}
		/* each request's replies, as far as they are out */
		char *line = out;
		while (*line) {
			char *nl = strchr(line, '\n');
			assert_non_null(nl);
			*nl = '\0';
			if (strcmp(line, "ERR overrun") == 0) {
				untagged++;
			} else {
				char *end;
				long got = strtol(line + 1, &end, 10);
				assert_true(line[0] == '#' && got >= 1 && got <= id);
				char want[32];
				snprintf(want, sizeof(want), "   %ld", got);
				if (strcmp(end, " ERR overrun") == 0) {
					assert_true(damaged[got]);
					assert_int_equal(answered[got], 0);
					answered[got] = 'E';
					overruns++;
				} else if (strcmp(end, " OK") == 0) {
					assert_int_equal(answered[got], 'D');
					answered[got] = 'O';
				} else {
					assert_string_equal(end, want);
					assert_int_equal(answered[got], 0);
					answered[got] = 'D';
				}
			}
			line = nl + 1;
		}
	}
	for (int id = 1; id <= N; id++)
		if (!damaged[id])
			assert_int_equal(answered[id], 'O');
		else
			assert_true(answered[id] != 'O' && answered[id] != 'D');
	assert_true(overruns > 100);
	printf("pipelined: %d requests, %d refused tagged, %d untagged\n", N, overruns, untagged);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_framed_replies_are_tagged, setup),
		cmocka_unit_test_setup(test_framed_empty_request, setup),
		cmocka_unit_test_setup(test_bad_ids_go_untagged, setup),
		cmocka_unit_test_setup(test_soh_drops_a_half_line, setup),
		cmocka_unit_test_setup(test_overrun_is_answered_at_once, setup),
		cmocka_unit_test_setup(test_lost_line_end_damages_only_its_line, setup),
		cmocka_unit_test_setup(test_every_dropped_byte, setup),
		cmocka_unit_test_setup(test_pipelined_with_losses, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
