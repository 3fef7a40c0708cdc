/*
 * The in-guest test runner. Tests live in section .ktests (KTEST in
 * ktest/ktest.h). `test=all`, `test=a,b` or a group such as `test=chaos`
 * (every test whose name starts with `chaos_`) on the command line selects
 * them; they run one after another in the "ktest" thread, and the machine
 * powers off afterwards so the host runner sees QEMU exit, unless the flag
 * `test_stay` keeps it up for the host to check the kernel's health after
 * the tests (ci/test's chaos group asks the console). The runner first
 * prints how many tests are built in and how many are selected, so the host
 * can check that each selected test reported. A name that matches no test
 * and no group is reported as a failure, so a typo cannot pass silently.
 */
#include <core/boot_runner.h>
#include <core/log.h>
#include <core/sched.h>
#include <core/time.h>
#include <ktest/ktest.h>
#include <lib/cmdline.h>
#include <lib/fmt.h>
#include <lib/string.h>
#include <maple/bootinfo.h>
#include <platform/pc/power.h>
#include <stdarg.h>

extern const struct ktest __ktests_start[], __ktests_end[];

static char selection[BOOTINFO_CMDLINE_MAX];
static bool stay;

void ktest_fail(struct ktest_ctx *t, const char *file, int line, const char *fmt, ...)
{
	int n = fmt_snprintf(t->reason, sizeof t->reason, "%s:%d: ", file, line);
	if (n < (int)sizeof t->reason) {
		va_list ap;
		va_start(ap, fmt);
		fmt_vsnprintf(t->reason + n, sizeof t->reason - (size_t)n, fmt, ap);
		va_end(ap);
	}
	t->failed = true;
}

void ktest_skip(struct ktest_ctx *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(t->reason, sizeof t->reason, fmt, ap);
	va_end(ap);
	t->skipped = true;
}

/* Whether the selection entry entry[0..len) names a group holding the test
 * `name`: the entry and '_' start the name (`chaos` holds chaos_*). */
static bool group_holds(const char *entry, size_t len, const char *name)
{
	return !strncmp(name, entry, len) && name[len] == '_';
}

static bool test_exists(const char *name, size_t len)
{
	for (const struct ktest *k = __ktests_start; k < __ktests_end; k++)
		if ((strlen(k->name) == len && !strncmp(k->name, name, len)) ||
		    group_holds(name, len, k->name))
			return true;
	return false;
}

/* The next entry of the comma-separated selection at *p: its length. */
static size_t next_entry(const char **p, const char **entry)
{
	*entry = *p;
	const char *end = strchr(*p, ',');
	size_t len = end ? (size_t)(end - *p) : strlen(*p);
	*p += len + (end ? 1 : 0);
	return len;
}

static bool selected(const char *name)
{
	if (cmdline_list_contains(selection, name))
		return true;
	const char *p = selection, *entry;
	while (*p) {
		size_t len = next_entry(&p, &entry);
		if (len && group_holds(entry, len, name))
			return true;
	}
	return false;
}

/* Names in the selection that match no test; each counts as a failure. */
static unsigned report_unknown(void)
{
	unsigned bad = 0;
	const char *p = selection, *entry;
	while (*p) {
		size_t len = next_entry(&p, &entry);
		bool all = len == 3 && !strncmp(entry, "all", 3);
		if (len && !all && !test_exists(entry, len)) {
			klog("ktest: FAIL %.*s: no such test or group", (int)len, entry);
			bad++;
		}
	}
	return bad;
}

static void ktest_thread(void *unused)
{
	(void)unused;
	unsigned passed = 0, skipped = 0, failed = report_unknown();
	for (const struct ktest *k = __ktests_start; k < __ktests_end; k++) {
		if (!selected(k->name))
			continue;
		struct ktest_ctx ctx = {0};
		uint64_t t0 = time_ns();
		k->fn(&ctx);
		uint64_t us = (time_ns() - t0) / 1000;
		if (ctx.failed) {
			klog("ktest: FAIL %s: %s", k->name, ctx.reason);
			failed++;
		} else if (ctx.skipped) {
			klog("ktest: SKIP %s: %s", k->name, ctx.reason);
			skipped++;
		} else {
			klog("ktest: PASS %s (%lu us)", k->name, us);
			passed++;
		}
	}
	klog("ktest: summary %u passed, %u failed, %u skipped", passed, failed, skipped);
	if (!stay)
		power_off();
}

/* `test=...` on the command line (a boot runner: only the test image has it). */
static void ktest_start(const char *cmdline)
{
	if (!cmdline_get(cmdline, "test", selection, sizeof selection))
		return;
	stay = cmdline_flag(cmdline, "test_stay");
	unsigned total = (unsigned)(__ktests_end - __ktests_start), chosen = 0;
	for (const struct ktest *k = __ktests_start; k < __ktests_end; k++)
		chosen += selected(k->name);
	klog("ktest: running \"%s\" (%u tests built in, %u selected)", selection, total, chosen);
	if (!thread_create("ktest", ktest_thread, NULL))
		klog("ktest: FAIL runner: cannot create the ktest thread");
}
BOOT_RUNNER(ktest, "test", ktest_start);
