/*
 * The control console's line protocol: assemble request lines from raw
 * bytes, split them into words, find and run the command, and frame the
 * reply. The framing is specified in lib/ctl.h; everything a host can
 * send, however malformed, ends in exactly one reply or none (blank lines).
 */
#include <lib/ctl.h>
#include <lib/fmt.h>
#include <lib/string.h>

#define CTL_PRINT_MAX 256

void ctl_line_init(struct ctl_line *l)
{
	memset(l, 0, sizeof(*l));
	l->column = 1;
	l->blank = true;
}

static enum ctl_feed end_line(struct ctl_line *l)
{
	enum ctl_feed result = l->bad ? CTL_FEED_ERROR : l->blank ? CTL_FEED_MORE : CTL_FEED_LINE;

	l->buf[l->len] = '\0';
	l->len = 0;
	l->column = 1;
	l->blank = true;
	l->bad = false;
	return result;
}

enum ctl_feed ctl_line_feed(struct ctl_line *l, uint8_t byte)
{
	bool after_cr = l->after_cr;

	l->after_cr = false;
	if (byte == '\n' && after_cr)
		return CTL_FEED_MORE; /* the LF of a CR LF pair */
	if (byte == '\r' || byte == '\n') {
		l->after_cr = byte == '\r';
		return end_line(l);
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
		r->write(r->ctx, "OK\n", 3);
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
	s->reply.err[0] = '\0';
}

void ctl_session_byte(struct ctl_session *s, uint8_t byte)
{
	switch (ctl_line_feed(&s->line, byte)) {
	case CTL_FEED_LINE:
		ctl_execute(s->cmds, s->ncmds, s->line.buf, &s->reply);
		break;
	case CTL_FEED_ERROR:
		status_err(&s->reply, s->line.err);
		break;
	case CTL_FEED_MORE:
		break;
	}
}
