/*
 * The in-guest test runner. Tests live in section .ktests (KTEST in
 * core/ktest.h). `test=all` or `test=a,b` on the command line selects them;
 * they run one after another in the "ktest" thread, and the machine powers
 * off afterwards so the host runner sees QEMU exit. A name that matches no
 * test is reported as a failure, so a typo cannot pass silently.
 */
#include <core/ktest.h>
#include <core/log.h>
#include <core/power.h>
#include <core/sched.h>
#include <core/time.h>
#include <maple/bootinfo.h>
#include <maple/cmdline.h>
#include <maple/fmt.h>
#include <maple/string.h>
#include <stdarg.h>

extern const struct ktest __ktests_start[], __ktests_end[];

static char selection[BOOTINFO_CMDLINE_MAX];

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

static bool test_exists(const char *name, size_t len)
{
	for (const struct ktest *k = __ktests_start; k < __ktests_end; k++)
		if (strlen(k->name) == len && !strncmp(k->name, name, len))
			return true;
	return false;
}

/* Names in the selection that match no test; each counts as a failure. */
static unsigned report_unknown(void)
{
	unsigned bad = 0;
	const char *p = selection;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		bool all = len == 3 && !strncmp(p, "all", 3);
		if (len && !all && !test_exists(p, len)) {
			klog("ktest: FAIL %.*s: no such test", (int)len, p);
			bad++;
		}
		p += len + (end ? 1 : 0);
	}
	return bad;
}

static void ktest_thread(void *unused)
{
	(void)unused;
	unsigned passed = 0, skipped = 0, failed = report_unknown();
	for (const struct ktest *k = __ktests_start; k < __ktests_end; k++) {
		if (!cmdline_list_contains(selection, k->name))
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
	power_off();
}

bool ktest_run_from_cmdline(const char *cmdline)
{
	if (!cmdline_get(cmdline, "test", selection, sizeof selection))
		return false;
	unsigned total = (unsigned)(__ktests_end - __ktests_start);
	klog("ktest: running \"%s\" (%u tests built in)", selection, total);
	if (!thread_create("ktest", ktest_thread, NULL))
		klog("ktest: FAIL runner: cannot create the ktest thread");
	return true;
}
