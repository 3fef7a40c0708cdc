/*
 * The console commands only the test kernel image has (kernel/test-sources):
 * `call` runs any method of any domain with the console's authority (the
 * host-side tests drive workloads with it), and `panic-test` faults in the
 * kernel on purpose, `flow off` lets the console's receive ring overflow
 * and `sleep` keeps the console busy (the overrun and late-reply tests in
 * ci/groups/console.py). None belongs in an appliance: `call` bypasses
 * every interface a domain publishes, `panic-test` stops the machine,
 * `flow off` loses input, and `sleep` stalls the operator's console. The
 * operator's commands (inject, kill, destroy, create) stay in the
 * production kernel (console/console_domains.c).
 */
#include <arch/x86/traps.h>
#include <console/console.h>
#include <core/sched.h>
#include <domain/domain.h>
#include <lib/string.h>

static int cmd_panic_test(struct ctl_reply *r, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctl_print(r, "taking a deliberate #UD in the kernel; see COM1 for the report");
	trap_selftest_panic();
	return ctl_fail(r, "the deliberate fault did not happen");
}

/* Decimal or 0x-hex, optionally negative; false on anything else. */
static bool parse_long(const char *s, long *out)
{
	bool neg = *s == '-';
	s += neg;
	unsigned base = s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? 16 : 10;
	s += base == 16 ? 2 : 0;
	if (!*s)
		return false;
	uint64_t v = 0;
	for (; *s; s++) {
		unsigned digit = *s >= '0' && *s <= '9'	  ? (unsigned)(*s - '0')
				 : *s >= 'a' && *s <= 'f' ? (unsigned)(*s - 'a' + 10)
				 : *s >= 'A' && *s <= 'F' ? (unsigned)(*s - 'A' + 10)
							  : 99;
		if (digit >= base || v > (UINT64_MAX - digit) / base)
			return false;
		v = v * base + digit;
	}
	*out = neg ? -(long)v : (long)v;
	return true;
}

static int cmd_call(struct ctl_reply *r, int argc, char **argv)
{
	struct domain *d = console_find_domain(r, argv[1]);
	if (!d)
		return -1;
	long method, args[4] = {0};
	int rc = 0;
	if (!parse_long(argv[2], &method) || method < 0)
		rc = ctl_fail(r, "bad method number '%s'", argv[2]);
	for (int i = 3; i < argc && !rc; i++)
		if (!parse_long(argv[i], &args[i - 3]))
			rc = ctl_fail(r, "bad argument '%s' (a number)", argv[i]);
	if (!rc) {
		long result = domain_call(d, (uint64_t)method, args[0], args[1], args[2], args[3]);
		ctl_print(r, "%s.%ld returned %ld", d->name, method, result);
	}
	domain_put(d);
	return rc;
}

static int cmd_flow(struct ctl_reply *r, int argc, char **argv)
{
	(void)argc;
	bool on = strcmp(argv[1], "on") == 0;
	if (!on && strcmp(argv[1], "off") != 0)
		return ctl_fail(r, "usage: flow on|off");
	console_rx_flow_control(on);
	return 0;
}

#define MAX_SLEEP_MS 60000

static int cmd_sleep(struct ctl_reply *r, int argc, char **argv)
{
	(void)argc;
	long ms;
	if (!parse_long(argv[1], &ms) || ms < 0 || ms > MAX_SLEEP_MS)
		return ctl_fail(r, "bad time '%.20s' (0 to %d ms)", argv[1], MAX_SLEEP_MS);
	thread_sleep_ns((uint64_t)ms * 1000000);
	return 0;
}

CONSOLE_COMMANDS(console_test_cmds) = {
	{"panic-test", "", 0, 0, "fault in the kernel on purpose (halts the machine)",
	 cmd_panic_test},
	{"call", "DOMAIN METHOD [ARG...]", 2, 6, "call a domain's method with integer arguments",
	 cmd_call},
	{"sleep", "MS", 1, 1, "answer after MS milliseconds (a slow command)", cmd_sleep},
	{"flow", "on|off", 1, 1, "receive flow control (off: a full ring loses bytes)", cmd_flow},
};
