/*
 * The control console's line protocol (kernel/lib/ctl.c), portable so the
 * host tests can throw anything at it. docs/console.md is the specification;
 * this is its summary. The kernel's console driver feeds received bytes to
 * ctl_session_byte() and reports lost ones with ctl_session_lost(); the
 * commands themselves live in the kernel and are described by a table of
 * struct ctl_cmd.
 *
 * Requests: one command per line of printable ASCII. A line ends with CR, LF
 * or CR LF. Words are separated by spaces (a tab counts as a space); the
 * first word names the command; at most CTL_MAX_ARGS words in all. A line
 * longer than CTL_LINE_MAX-1 bytes (spaces count) or holding any other byte
 * (NUL, controls, DEL, bytes >= 0x80) is consumed up to its end and answered
 * with one error naming the first problem, e.g. `ERR line too long (max 127
 * bytes)` or `ERR invalid byte 0x07 at column 5` (columns count from 1).
 *
 * Framing: a request that starts with SOH (0x01) carries an id, 1 to 9
 * decimal digits then one space, before the command: <SOH>42 uptime<LF>.
 * Every line of its reply starts with `#42 `. SOH anywhere also discards a
 * partial line (a client that left mid-line), so it resynchronises the
 * stream. A line without SOH is a human's: its reply is untagged, and a
 * blank one gets none. A framed request with no command gets `ERR empty
 * request`; a malformed id gets an untagged `ERR bad request id ...`.
 *
 * Loss: when the transport lost received bytes, the line they fell in is
 * answered `ERR overrun` at once (tagged if its id was complete before the
 * loss, untagged otherwise), the rest of it up to the next line end or SOH
 * is discarded, and nothing of it runs.
 *
 * Replies: every request line gets exactly one reply, except blank
 * unframed lines and framed lines abandoned by a SOH (their client left):
 *
 *     zero or more data lines, each starting with two spaces
 *     one status line: `OK` or `ERR <reason>`
 *
 * each prefixed with `#ID ` when the request was framed. All reply lines end
 * with LF alone (a host should also strip a CR). Example:
 *
 *     > <SOH>7 inject
 *     < #7 ERR usage: inject DOMAIN FAULT
 *     > help
 *     <   help [COMMAND]  -- list commands, or describe one
 *     <   inject DOMAIN FAULT  -- make DOMAIN take FAULT
 *     < OK
 */
#ifndef MAPLE_CTL_H
#define MAPLE_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_LINE_MAX 128	      /* bytes of a request line, including the NUL */
#define CTL_MAX_ARGS 8		      /* words of a request line, including the command */
#define CTL_ERR_MAX  96		      /* bytes of an error reason, including the NUL */
#define CTL_ID_MAX   9		      /* digits of a request id */
#define CTL_TAG_MAX  (CTL_ID_MAX + 3) /* "#" id " " and the NUL */
#define CTL_SOH	     0x01	      /* starts a framed request; resynchronises */

/* Assembles request lines from received bytes. */
struct ctl_line {
	char buf[CTL_LINE_MAX]; /* the line, NUL-terminated once complete */
	size_t len;
	size_t column; /* 1-based column of the next byte */
	bool after_cr; /* a LF right after CR ends nothing */
	bool blank;    /* only spaces so far */
	bool bad;      /* an error is pending until the end of the line */
	bool skip;     /* already answered (overrun): discard to the line end */
	bool framed;   /* the line began with SOH */
	bool in_id;    /* framed, and still reading the id */
	bool id_ok;    /* framed, and the id is complete and undamaged */
	bool done;     /* the last call ended the line: reset on the next */
	size_t id_len;
	char id[CTL_ID_MAX + 1];
	char err[CTL_ERR_MAX]; /* the reason, once bad */
};

enum ctl_feed {
	CTL_FEED_MORE = 0,  /* nothing complete yet */
	CTL_FEED_LINE = 1,  /* line->buf holds a complete non-blank line */
	CTL_FEED_ERROR = 2, /* a malformed line ended; line->err says why */
};

void ctl_line_init(struct ctl_line *l);

/* Feed one received byte. line->buf, line->err and line->id stay valid
 * until the next call. */
enum ctl_feed ctl_line_feed(struct ctl_line *l, uint8_t byte);

/* Report that bytes were lost before the next one: CTL_FEED_ERROR with err
 * "overrun" for the line they fell in (once), or CTL_FEED_MORE when that
 * line was already answered. */
enum ctl_feed ctl_line_lost(struct ctl_line *l);

/* The id of the line the last call ended or answered, or NULL when the
 * reply must go untagged (unframed, or an id not received intact). */
const char *ctl_line_id(const struct ctl_line *l);

/*
 * Split a line in place at spaces into argv (each word NUL-terminated).
 * Returns the number of words, 0 for a blank line, or -1 when there are
 * more than CTL_MAX_ARGS words (err then says so).
 */
int ctl_tokenize(char *line, char *argv[CTL_MAX_ARGS], char *err, size_t errlen);

/*
 * Where a reply goes. Handlers write data lines with ctl_print() and report
 * failure with `return ctl_fail(r, ...)`; the status line is written for
 * them.
 */
struct ctl_reply {
	void (*write)(void *ctx, const char *s, size_t len);
	void *ctx;
	char tag[CTL_TAG_MAX]; /* "#ID " before every line, or "" */
	char err[CTL_ERR_MAX];
};

/* Tag the next reply with a request id (NULL: untagged). */
void ctl_reply_tag(struct ctl_reply *r, const char *id);

/* Write the OK status line now: for a command that cannot return (shutdown). */
void ctl_reply_ok(struct ctl_reply *r);

/* Write one data line (prefix and LF added). Embedded newlines start new
 * data lines; other control bytes are written as '?'. Output past 255 bytes
 * per call is cut. */
void ctl_print(struct ctl_reply *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Record the reason for an ERR status; returns -1 for `return ctl_fail(...)`. */
int ctl_fail(struct ctl_reply *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct ctl_cmd {
	const char *name;
	const char *args; /* synopsis of the arguments, e.g. "DOMAIN FAULT"; "" if none */
	int min_args;	  /* words after the name */
	int max_args;
	const char *summary; /* one line for `help` */
	/* argv[0] is the command name. Return 0 for OK, or ctl_fail(). */
	int (*run)(struct ctl_reply *r, int argc, char **argv);
};

/*
 * Find the command for argv[0] and check its number of arguments. Returns
 * the command, or NULL with err set to e.g. `unknown command 'foo' (try
 * 'help')` or `usage: inject DOMAIN FAULT`.
 */
const struct ctl_cmd *ctl_lookup(const struct ctl_cmd *cmds, size_t ncmds, int argc, char **argv,
				 char *err, size_t errlen);

/*
 * Run one complete request line and write its whole reply. Modifies line.
 * Unless the table has its own, `help [COMMAND]` is built in: it lists every
 * command (or the one named) with its synopsis and summary.
 */
void ctl_execute(const struct ctl_cmd *cmds, size_t ncmds, char *line, struct ctl_reply *r);

/* A console's protocol state: line assembly plus dispatch. */
struct ctl_session {
	struct ctl_line line;
	const struct ctl_cmd *cmds;
	size_t ncmds;
	struct ctl_reply reply;
};

void ctl_session_init(struct ctl_session *s, const struct ctl_cmd *cmds, size_t ncmds,
		      void (*write)(void *ctx, const char *s, size_t len), void *ctx);

/* Feed one received byte; writes a reply whenever a request line ends. */
void ctl_session_byte(struct ctl_session *s, uint8_t byte);

/* Bytes were lost before the next one: answer the line they damaged. */
void ctl_session_lost(struct ctl_session *s);

#endif
