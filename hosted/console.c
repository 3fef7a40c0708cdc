/*
 * maple-hosted serve SOCKET IMAGE...: the VM's control console protocol
 * (kernel/lib/ctl.c, docs/console.md: framing, ids, OK/ERR) on a unix
 * socket, so ci/ctl talks to a hosted process as to a VM
 * (`ci/ctl --socket SOCKET domains`). One client at a time, as QEMU's
 * serial socket, which must end each line within 5 s (serve_client); the
 * commands are the hosted runtime's own:
 *
 *   domains                    every domain, those domains created too: id, name,
 *                              state, key, calls
 *   call DOMAIN METHOD [A0..A3] an upcall into DOMAIN (a name or an id)
 *                              (then the domain threads it made run, to completion:
 *                              syscalls.h)
 *   inject DOMAIN FAULT        its next method call takes FAULT (pf gp ud de pk)
 *   kill DOMAIN                fail it now: its next caller gets -MAPLE_EDEAD
 *   create IMAGE               create a domain from out/domains/IMAGE.elf
 *   destroy DOMAIN             destroy it and reclaim everything of it
 *   rrefs                      the exchange heap's counts
 *   shutdown                   reply OK and exit 0
 *
 * THE INVARIANT: what a client sends is parsed only by ctl.c (bounded
 * lines, at most CTL_MAX_ARGS words) and the number parsing below; a
 * client can make the runtime call into a domain, never run anything else.
 */
#define _GNU_SOURCE
#include "console.h"

#include "domains.h"
#include "entry.h"
#include "gate.h"
#include "loader.h"
#include "pkeys.h"
#include "runtime.h"
#include "syscalls.h"
#include "watchdog.h"

#include <core/log.h>
#include <domain/gate_layout.h>
#include <domain/names.h>
#include <lib/ctl.h>
#include <xheap/rref.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_DOMAINS (PKEY_COUNT - PKEY_FIRST_DOMAIN)
/* How long a `call` waits for the domain threads it made: under the 10 s
 * the tests give ci/ctl, over the workloads they start (bdclient's). */
#define CALL_THREADS_WAIT_MS 8000
/* How long a client may take to end a line: ci/ctl sends its request whole
 * as it connects. */
#define CONSOLE_LINE_MS 5000

static int done;

static const char *state_name(uint64_t s)
{
	return s == GATE_DOMAIN_RUNNING ? "running" : s == GATE_DOMAIN_FAILED ? "failed" : "free";
}

int hosted_number(const char *s, long *out)
{
	char *end;
	errno = 0;
	*out = strtol(s, &end, 0);
	return *s && !*end && !errno;
}

/* The domain a name or decimal id addresses, by the VM's rule (hgate_find,
 * kernel/domain/names.h: a name several domains share is refused, not
 * taken to mean the first of them), or NULL with the VM console's refusal
 * in r. */
static struct hosted_domain *find(struct ctl_reply *r, const char *what)
{
	long why;
	unsigned count;
	struct hosted_domain *d = hgate_find(what, &why, &count);
	if (!d) {
		char msg[160];
		names_console_refusal(what, why, count, msg, sizeof msg);
		ctl_fail(r, "%s", msg);
	}
	return d;
}

static int cmd_domains(struct ctl_reply *r, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	for (unsigned i = 1; i < GATE_MAX_DOMAINS; i++) {
		struct hosted_domain *d = hgate_slot(i);
		if (d)
			ctl_print(r, "%u %s %s key %d calls %lu", d->id, d->name,
				  state_name(hgate_state(d)), d->pkey,
				  (unsigned long)hgate_calls(d));
	}
	return 0;
}

static int cmd_call(struct ctl_reply *r, int argc, char **argv)
{
	struct hosted_domain *d = find(r, argv[1]);
	long method, a[4] = {0, 0, 0, 0}, result;
	if (!d)
		return -1;
	if (!hosted_number(argv[2], &method) || method < 0 || (unsigned long)method >= d->nmethods)
		return ctl_fail(r, "%s has no method '%s' (%u methods)", d->name, argv[2],
				d->nmethods);
	for (int i = 3; i < argc; i++)
		if (!hosted_number(argv[i], &a[i - 3]))
			return ctl_fail(r, "argument '%s' is not a number", argv[i]);
	char why[160];
	fflush(stdout);
	long mark = hsys_thread_mark();
	int failed = entry_upcall(d, d->methods[method], a, &result, why, sizeof why) < 0;
	/* The threads this call made (bdclient's workload) end before the
	 * answer, for at most CALL_THREADS_WAIT_MS. THE INVARIANT: no domain
	 * holds the console; one client at a time is served, and a thread that
	 * never ends (it runs in its own frame, which has no deadline) held it
	 * for good: ci/ctl gave up and no `kill` or `shutdown` was heard again
	 * (console-answers-a-call-whose-thread-never-ends). */
	unsigned left = hsys_wait_threads_since(mark, CALL_THREADS_WAIT_MS);
	if (left)
		klog("hosted: console: %s's method %ld answered with %u domain thread%s made "
		     "since still running after %d ms",
		     d->name, method, left, left == 1 ? "" : "s", CALL_THREADS_WAIT_MS);
	if (failed)
		return ctl_fail(r, "%s failed: %s", d->name, why);
	ctl_print(r, "%ld", result);
	return 0;
}

/* The VM's `inject DOMAIN FAULT`, hosted: the gate's table sends d's next
 * method call to the gate page's stub for FAULT (gatepage.h), which faults
 * in d with d's rights, as the VM's redirected thread does. */
static int cmd_inject(struct ctl_reply *r, int argc, char **argv)
{
	(void)argc;
	struct hosted_domain *d = find(r, argv[1]);
	int f = runtime_fault(argv[2]);
	if (!d)
		return -1;
	if (f < 0)
		return ctl_fail(r, "unknown fault '%s' (one of: %s)", argv[2], GATEPAGE_FAULTS);
	if (hgate_state(d) != GATE_DOMAIN_RUNNING)
		return ctl_fail(r, "%s is not running", d->name);
	hgate_inject(d, runtime_gatepage()->fault[f]);
	ctl_print(r, "armed: the next call into %s takes a %s fault", d->name, argv[2]);
	return 0;
}

static int cmd_rrefs(struct ctl_reply *r, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	struct rref_stats s;
	rref_get_stats(&s);
	ctl_print(r, "live %lu allocs %lu frees %lu chunks %lu", (unsigned long)s.live,
		  (unsigned long)s.allocs, (unsigned long)s.frees, (unsigned long)s.chunks);
	return 0;
}

static int cmd_shutdown(struct ctl_reply *r, int argc, char **argv)
{
	(void)r;
	(void)argc;
	(void)argv;
	done = 1;
	return 0;
}

/* The VM's `kill`: between console commands no call is inside the domain
 * (one thread enters domains), so it fails, and its callers find it so. */
static int cmd_kill(struct ctl_reply *r, int argc, char **argv)
{
	(void)argc;
	struct hosted_domain *d = find(r, argv[1]);
	if (!d)
		return -1;
	if (!hdom_fail(d, "killed from the control console"))
		return ctl_fail(r, "%s is not running", d->name);
	ctl_print(r, "%s failed; its next caller gets an error", d->name);
	return 0;
}

/* The VM's `create` and `destroy`, with the runtime's authority (the
 * VM's kernel and console may create any boot module, destroy any
 * domain); a domain that creates is named in the log as its creator. */
static int cmd_create(struct ctl_reply *r, int argc, char **argv)
{
	(void)argc;
	char err[256];
	struct hosted_domain *d = NULL;
	if (!hdom_create(NULL, argv[1], &d, err, sizeof err))
		return ctl_fail(r, "%s", err);
	ctl_print(r, "created %s: id %u, key %d", d->name, d->id, d->pkey);
	return 0;
}

static int cmd_destroy(struct ctl_reply *r, int argc, char **argv)
{
	(void)argc;
	struct hosted_domain *d = find(r, argv[1]);
	char err[160];
	if (!d)
		return -1;
	return hdom_destroy(hgate_handle(d), err, sizeof err) < 0 ? ctl_fail(r, "%s", err) : 0;
}

static const struct ctl_cmd cmds[] = {
	{"domains", "", 0, 0, "list the loaded domains", cmd_domains},
	{"call", "DOMAIN METHOD [A0..A3]", 2, 6, "call a domain's method", cmd_call},
	{"inject", "DOMAIN FAULT", 2, 2, "make a domain's next method call fault", cmd_inject},
	{"kill", "DOMAIN", 1, 1, "fail a domain now; its callers get an error", cmd_kill},
	{"create", "IMAGE", 1, 1, "create a domain from a boot module", cmd_create},
	{"destroy", "DOMAIN", 1, 1, "destroy a domain and reclaim its memory", cmd_destroy},
	{"rrefs", "", 0, 0, "the exchange heap's counts", cmd_rrefs},
	{"shutdown", "", 0, 0, "stop maple-hosted", cmd_shutdown},
};

static uint64_t now_ms(void);

/* The client being served: its socket, and whether it was dropped. */
struct client {
	int fd;
	int dropped;
};

/*
 * THE INVARIANT (serve_client's, below) on the way out: a client that
 * reads no replies must not hold the console either. Its replies fill the
 * socket, and a send that waited for room would wait for ever; so each
 * waits at most CONSOLE_LINE_MS for room, then the client is dropped and
 * nothing more it sent is run (attack12: 64 KiB of `help` lines, none of
 * their replies read, held it until killed).
 */
static void reply(void *ctx, const char *s, size_t len)
{
	struct client *c = ctx;
	uint64_t deadline = now_ms() + CONSOLE_LINE_MS;
	while (len && !c->dropped) { /* a client that left loses its reply, nothing else */
		ssize_t k = send(c->fd, s, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k > 0) {
			s += k;
			len -= (size_t)k;
			deadline = now_ms() + CONSOLE_LINE_MS;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		uint64_t now = now_ms();
		struct pollfd p = {.fd = c->fd, .events = POLLOUT};
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && now < deadline &&
		    (poll(&p, 1, (int)(deadline - now)) > 0 || errno == EINTR))
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			klog("hosted: console: a client read no reply within %d ms; closed",
			     CONSOLE_LINE_MS);
		c->dropped = 1;
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Serve one client until it leaves, says shutdown, or ends no line within
 * CONSOLE_LINE_MS of its connect or its last line end, or leaves no room
 * for a reply for as long (reply). THE INVARIANT: one client is served at
 * a time, so a client that stops mid-line (or never starts one), or stops
 * reading, must not hold the console: ci/ctl behind it, a `kill` or a
 * `shutdown` included, would wait for ever. The time a command takes to
 * run is not the client's: the deadline starts again after it.
 */
static void serve_client(int fd)
{
	static struct ctl_session s;
	struct client c = {.fd = fd};
	ctl_session_init(&s, cmds, sizeof cmds / sizeof cmds[0], reply, &c);
	uint64_t deadline = now_ms() + CONSOLE_LINE_MS;
	while (!done && !c.dropped) {
		uint64_t now = now_ms();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int ready = now < deadline ? poll(&p, 1, (int)(deadline - now)) : 0;
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready == 0) {
			klog("hosted: console: a client ended no line within %d ms; closed",
			     CONSOLE_LINE_MS);
			return;
		}
		uint8_t buf[256];
		ssize_t k = ready < 0 ? -1 : read(fd, buf, sizeof buf);
		if (k <= 0)
			return;
		for (ssize_t i = 0; i < k && !done && !c.dropped; i++) {
			ctl_session_byte(&s, buf[i]);
			if (buf[i] == '\n' || buf[i] == '\r')
				deadline = now_ms() + CONSOLE_LINE_MS;
		}
	}
}

static int listen_on(const char *path, char *why, size_t whylen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path) {
		snprintf(why, whylen, "%s: a socket path has at most %zu bytes", path,
			 sizeof sa.sun_path - 1);
		return -1;
	}
	strcpy(sa.sun_path, path);
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path); /* a stale socket of an earlier run; nothing else is removed */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1) < 0) {
		snprintf(why, whylen, "%s: cannot listen: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int hosted_serve(int n, char **args)
{
	if (n < 2 || n - 1 > MAX_DOMAINS) {
		fprintf(stderr, "usage: maple-hosted serve SOCKET IMAGE... (1 to %d images)\n",
			MAX_DOMAINS);
		return 2;
	}
	char why[256];
	int keys = pkeys_available(why, sizeof why);
	if (!keys)
		printf("hosted: placing without protection keys: %s\n", why);
	/* The VM's call watchdog (watchdog.c): a domain that spins fails. */
	if (runtime_start(keys, why, sizeof why) < 0 ||
	    hwatch_start(HWATCH_DEFAULT_MS, why, sizeof why) < 0) {
		fprintf(stderr, "maple-hosted: %s\n", why);
		return 2;
	}
	/* Created by the runtime (the VM's kernel), in order: ids 1, 2, ...,
	 * and whatever their inits create in between. */
	for (int i = 1; i < n; i++)
		if (!hdom_create_path(NULL, args[i], NULL, why, sizeof why)) {
			printf("hosted: refused %s\n", why);
			return 1;
		}
	int lfd = listen_on(args[0], why, sizeof why);
	if (lfd < 0) {
		fprintf(stderr, "maple-hosted: %s\n", why);
		return 2;
	}
	printf("hosted: console at %s\n", args[0]);
	fflush(stdout);
	while (!done) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "maple-hosted: %s: accept: %s\n", args[0], strerror(errno));
			return 2;
		}
		serve_client(fd);
		close(fd);
	}
	close(lfd);
	unlink(args[0]);
	return 0;
}
