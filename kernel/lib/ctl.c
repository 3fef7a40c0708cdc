/*
 * The control console's line protocol: assemble request lines from raw
 * bytes, split them into words, find and run the command, and frame the
 * reply, tagged with the request's id when it had one. The framing is
 * specified in docs/console.md (summary in lib/ctl.h); everything a host can
 * send, however malformed, ends in exactly one reply or none (blank
 * unframed lines, lines abandoned by a SOH).
 */
#include <lib/ctl.h>
#include <lib/fmt.h>
#include <lib/string.h>

#define CTL_PRINT_MAX 256

static void reset_line(struct ctl_line *l)
{
	bool after_cr = l->after_cr;

	memset(l, 0, sizeof(*l));
	l->column = 1;
	l->blank = true;
	l->after_cr = after_cr;
}

void ctl_line_init(struct ctl_line *l)
{
	memset(l, 0, sizeof(*l));
	reset_line(l);
}

const char *ctl_line_id(const struct ctl_line *l)
{
	return l->id_ok ? l->id : NULL;
}

/* The line ends here; buf, err and id stay readable until the next call. */
static enum ctl_feed end_line(struct ctl_line *l)
{
	enum ctl_feed result = CTL_FEED_MORE;

	l->done = true;
	l->buf[l->len] = '\0';
	if (l->skip)
		return CTL_FEED_MORE; /* answered when the loss was seen */
	if (l->framed && l->in_id) {
		/* the line ended inside the id: there is no id to tag with */
		fmt_snprintf(l->err, sizeof(l->err),
			     "bad request id (1 to %d digits, then a space)", CTL_ID_MAX);
		return CTL_FEED_ERROR;
	}
	if (l->bad)
		result = CTL_FEED_ERROR;
	else if (!l->blank)
		result = CTL_FEED_LINE;
	else if (l->framed) {
		/* a framed request always gets a reply: its client waits for one */
		strlcpy(l->err, "empty request", sizeof(l->err));
		result = CTL_FEED_ERROR;
	}
	return result;
}

/* One byte of a framed request's id. Anything but digits then a space makes
 * the id untrustworthy: the reply then goes untagged, so that it can never
 * be taken for the reply to some other request. */
static void id_byte(struct ctl_line *l, uint8_t byte)
{
	if (byte >= '0' && byte <= '9' && l->id_len < CTL_ID_MAX) {
		l->id[l->id_len++] = (char)byte;
		return;
	}
	l->in_id = false;
	if (byte == ' ' && l->id_len > 0) {
		l->id[l->id_len] = '\0';
		l->id_ok = true;
		return;
	}
	fmt_snprintf(l->err, sizeof(l->err), "bad request id (1 to %d digits, then a space)",
		     CTL_ID_MAX);
	l->bad = true;
}

enum ctl_feed ctl_line_feed(struct ctl_line *l, uint8_t byte)
{
	bool after_cr = l->after_cr;

	if (l->done)
		reset_line(l);
	l->after_cr = false;
	if (byte == CTL_SOH) {
		/* Resynchronise: whatever came before (a client that gave up
		 * mid-line) is dropped unanswered; nobody waits for it. */
		reset_line(l);
		l->framed = true;
		l->in_id = true;
		return CTL_FEED_MORE;
	}
	if (byte == '\n' && after_cr)
		return CTL_FEED_MORE; /* the LF of a CR LF pair */
	if (byte == '\r' || byte == '\n') {
		l->after_cr = byte == '\r';
		return end_line(l);
	}
	if (l->skip)
		return CTL_FEED_MORE;
	if (l->in_id) {
		id_byte(l, byte);
		return CTL_FEED_MORE;
	}
	if (byte == '\t')
		byte = ' ';
	if (!l->bad) {
		if (byte < 0x20 || byte >= 0x7f) {
			fmt_snprintf(l->err, sizeof(l->err), "invalid byte 0x%02x at column %zu",
				     byte, l->column);
			l->bad = true;
		} else if (l->len == CTL_LINE_MAX - 1) {
			fmt_snprintf(l->err, sizeof(l->err), "line too long (max %d bytes)",
				     CTL_LINE_MAX - 1);
			l->bad = true;
		} else {
			l->buf[l->len++] = (char)byte;
			if (byte != ' ')
				l->blank = false;
		}
	}
	l->column++;
	return CTL_FEED_MORE;
}

enum ctl_feed ctl_line_lost(struct ctl_line *l)
{
	if (l->done)
		reset_line(l);
	if (l->skip)
		return CTL_FEED_MORE; /* this line's overrun is answered already */
	/*
	 * Invariant: a line that lost a byte is never run. The lost bytes may
	 * have been anything, a line end or a SOH included, so what follows
	 * up to the next line end or SOH is part of the damaged line too and
	 * is discarded. An id counts only if it was complete before the loss
	 * (the loss cannot have changed it); otherwise the reply is untagged.
	 */
	if (l->in_id) {
		l->in_id = false;
		l->id_ok = false;
	}
	l->after_cr = false;
	l->skip = true;
	strlcpy(l->err, "overrun", sizeof(l->err));
	return CTL_FEED_ERROR;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

int ctl_tokenize(char *line, char *argv[CTL_MAX_ARGS], char *err, size_t errlen)
{
	int argc = 0;
	char *p = line;

	for (;;) {
		while (is_space(*p))
			*p++ = '\0';
		if (*p == '\0')
			return argc;
		if (argc == CTL_MAX_ARGS) {
			fmt_snprintf(err, errlen, "too many words (max %d)", CTL_MAX_ARGS);
			return -1;
		}
		argv[argc++] = p;
		while (*p && !is_space(*p))
			p++;
	}
}

static const struct ctl_cmd *find(const struct ctl_cmd *cmds, size_t ncmds, const char *name)
{
	for (size_t i = 0; i < ncmds; i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

static void usage(const struct ctl_cmd *c, char *err, size_t errlen)
{
	fmt_snprintf(err, errlen, "usage: %s%s%s", c->name, c->args[0] ? " " : "", c->args);
}

const struct ctl_cmd *ctl_lookup(const struct ctl_cmd *cmds, size_t ncmds, int argc, char **argv,
				 char *err, size_t errlen)
{
	const struct ctl_cmd *c = find(cmds, ncmds, argv[0]);

	if (!c) {
		/* cut the name so the hint always fits */
		fmt_snprintf(err, errlen, "unknown command '%.40s' (try 'help')", argv[0]);
		return NULL;
	}
	if (argc - 1 < c->min_args || argc - 1 > c->max_args) {
		usage(c, err, errlen);
		return NULL;
	}
	return c;
}

void ctl_reply_tag(struct ctl_reply *r, const char *id)
{
	if (id)
		fmt_snprintf(r->tag, sizeof(r->tag), "#%s ", id);
	else
		r->tag[0] = '\0';
}

/* Every reply line starts here: the tag of its request, if it had one. */
static void line_start(struct ctl_reply *r)
{
	if (r->tag[0])
		r->write(r->ctx, r->tag, strlen(r->tag));
}

void ctl_reply_ok(struct ctl_reply *r)
{
	line_start(r);
	r->write(r->ctx, "OK\n", 3);
}

/* Write s with control bytes replaced, so nothing can break the framing. */
static void put_clean(struct ctl_reply *r, char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			s[i] = '?';
	r->write(r->ctx, s, n);
}

void ctl_print(struct ctl_reply *r, const char *fmt, ...)
{
	char buf[CTL_PRINT_MAX];
	va_list ap;

	va_start(ap, fmt);
	fmt_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);

	char *p = buf;
	for (;;) {
		char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		line_start(r);
		r->write(r->ctx, "  ", 2);
		put_clean(r, p, n);
		r->write(r->ctx, "\n", 1);
		if (!nl)
			break;
		p = nl + 1;
	}
}

int ctl_fail(struct ctl_reply *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fmt_vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	return -1;
}

static void status_err(struct ctl_reply *r, const char *reason)
{
	char buf[CTL_ERR_MAX];
	size_t n = strlcpy(buf, reason[0] ? reason : "failed", sizeof(buf));

	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	line_start(r);
	r->write(r->ctx, "ERR ", 4);
	put_clean(r, buf, n);
	r->write(r->ctx, "\n", 1);
}

static void help_line(struct ctl_reply *r, const char *name, const char *args, const char *summary)
{
	ctl_print(r, "%s%s%s  -- %s", name, args[0] ? " " : "", args, summary);
}

static int builtin_help(struct ctl_reply *r, const struct ctl_cmd *cmds, size_t ncmds, int argc,
			char **argv)
{
	if (argc > 2)
		return ctl_fail(r, "usage: help [COMMAND]");
	if (argc == 2) {
		const struct ctl_cmd *c = find(cmds, ncmds, argv[1]);
		if (strcmp(argv[1], "help") == 0)
			help_line(r, "help", "[COMMAND]", "list commands, or describe one");
		else if (c)
			help_line(r, c->name, c->args, c->summary);
		else
			return ctl_fail(r, "unknown command '%.40s'", argv[1]);
		return 0;
	}
	help_line(r, "help", "[COMMAND]", "list commands, or describe one");
	for (size_t i = 0; i < ncmds; i++)
		help_line(r, cmds[i].name, cmds[i].args, cmds[i].summary);
	return 0;
}

static int run(const struct ctl_cmd *cmds, size_t ncmds, int argc, char **argv, struct ctl_reply *r)
{
	const struct ctl_cmd *c = ctl_lookup(cmds, ncmds, argc, argv, r->err, sizeof(r->err));

	return c ? c->run(r, argc, argv) : -1;
}

void ctl_execute(const struct ctl_cmd *cmds, size_t ncmds, char *line, struct ctl_reply *r)
{
	char *argv[CTL_MAX_ARGS];
	int argc, rc;

	r->err[0] = '\0';
	argc = ctl_tokenize(line, argv, r->err, sizeof(r->err));
	if (argc == 0)
		return; /* blank: no reply */
	if (argc < 0)
		rc = -1;
	else if (strcmp(argv[0], "help") == 0 && !find(cmds, ncmds, "help"))
		rc = builtin_help(r, cmds, ncmds, argc, argv);
	else
		rc = run(cmds, ncmds, argc, argv, r);
	if (rc == 0)
		ctl_reply_ok(r);
	else
		status_err(r, r->err);
}

void ctl_session_init(struct ctl_session *s, const struct ctl_cmd *cmds, size_t ncmds,
		      void (*write)(void *ctx, const char *s, size_t len), void *ctx)
{
	ctl_line_init(&s->line);
	s->cmds = cmds;
	s->ncmds = ncmds;
	s->reply.write = write;
	s->reply.ctx = ctx;
	s->reply.tag[0] = '\0';
	s->reply.err[0] = '\0';
}

/* Reply to whatever the last byte or loss completed, tagged with its id. */
static void answer(struct ctl_session *s, enum ctl_feed what)
{
	if (what == CTL_FEED_MORE)
		return;
	ctl_reply_tag(&s->reply, ctl_line_id(&s->line));
	if (what == CTL_FEED_LINE)
		ctl_execute(s->cmds, s->ncmds, s->line.buf, &s->reply);
	else
		status_err(&s->reply, s->line.err);
}

void ctl_session_byte(struct ctl_session *s, uint8_t byte)
{
	answer(s, ctl_line_feed(&s->line, byte));
}

void ctl_session_lost(struct ctl_session *s)
{
	answer(s, ctl_line_lost(&s->line));
}
