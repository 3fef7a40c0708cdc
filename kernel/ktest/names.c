/*
 * In-guest tests of how a name addresses a domain (domain_get_by_name,
 * docs/isolation.md "Names"): a name several running domains share
 * addresses none of them, by lookup or by console command, while an id
 * always addresses its own; and of a name's instances the one that is
 * running is the one it means (a shadow's new driver beside the old one it
 * is tearing down). Each runs counted: no frame, RRef or domain is left.
 */
#include <console/console.h>
#include <domain/domain.h>
#include <ktest/counted.h>
#include <ktest/ktest.h>
#include <lib/fmt.h>
#include <lib/string.h>

#define NAMES_WAIT_NS 60000000000UL
#define SHARED	      "xb"
#define COPIES	      3

static void discard(void *ctx, const char *s, size_t len)
{
	(void)ctx;
	(void)s;
	(void)len;
}

/* Run console command `cmd NAME pf` (kill ignores the pf) as the operator
 * would; its error, if any, in err. */
static int console_run(int (*cmd)(struct ctl_reply *, int, char **), const char *name, char *err,
		       size_t errlen)
{
	struct ctl_reply r = {.write = discard};
	char word0[] = "cmd", word1[MAPLE_DOMAIN_NAME_MAX], word2[] = "pf";
	fmt_snprintf(word1, sizeof word1, "%s", name);
	char *argv[] = {word0, word1, word2};
	int rc = cmd(&r, 3, argv);
	fmt_snprintf(err, errlen, "%s", r.err);
	return rc;
}

/* Whether name (or id) finds exactly d, NULL meaning nothing; *why as domain_get_by_name set it. */
static bool finds(const char *name, const struct domain *d, long *why)
{
	struct domain *got = domain_get_by_name(name, why);
	domain_put(got);
	return got == d;
}

static void destroy_all(struct domain *d[COPIES])
{
	for (int i = 0; i < COPIES; i++)
		ktest_destroy(d[i]);
}

static void shared_name(struct ktest_ctx *t)
{
	long why_before, why_shared = 0, why_id = -1;
	bool none_before = finds(SHARED, NULL, &why_before);
	struct domain *d[COPIES] = {0};
	for (int i = 0; i < COPIES; i++)
		if (!(d[i] = ktest_create(t, SHARED)))
			goto out;
	bool none_shared = finds(SHARED, NULL, &why_shared);
	char id[12], kill_err[CTL_ERR_MAX], inject_err[CTL_ERR_MAX];
	fmt_snprintf(id, sizeof id, "%u", d[1]->id);
	bool by_id = finds(id, d[1], &why_id);
	int kill_rc = console_run(cmd_kill, SHARED, kill_err, sizeof kill_err);
	int inject_rc = console_run(cmd_inject, SHARED, inject_err, sizeof inject_err);
	bool all_running = true;
	for (int i = 0; i < COPIES; i++)
		all_running &= d[i]->state == DOMAIN_RUNNING;
	destroy_all(d);
	char want[CTL_ERR_MAX];
	fmt_snprintf(want, sizeof want, "'%s' names %d domains: give an id (see 'domains')", SHARED,
		     COPIES);
	KT_ASSERT(none_before);
	KT_ASSERT_EQ(why_before, -MAPLE_ESRCH);
	KT_ASSERT(none_shared);
	KT_ASSERT_EQ(why_shared, -MAPLE_ENOTUNIQ);
	KT_ASSERT(by_id);
	KT_ASSERT_EQ(why_id, 0);
	KT_ASSERT_EQ(kill_rc, -1);
	if (strcmp(kill_err, want))
		ktest_fail(t, __FILE__, __LINE__, "kill %s: '%s', not '%s'", SHARED, kill_err,
			   want);
	KT_ASSERT_EQ(inject_rc, -1);
	if (strcmp(inject_err, want))
		ktest_fail(t, __FILE__, __LINE__, "inject %s: '%s', not '%s'", SHARED, inject_err,
			   want);
	KT_ASSERT(all_running); /* nothing reached "the first xb" */
	return;
out:
	destroy_all(d);
}

KTEST(domain_name_shared_by_running_domains_addresses_none)
{
	ktest_run_counted(t, "kt-names", shared_name, NAMES_WAIT_NS);
}

static void running_instance(struct ktest_ctx *t)
{
	struct domain *old = ktest_create(t, SHARED), *cur = NULL;
	if (!old || !(cur = ktest_create(t, SHARED)))
		goto out;
	/* The old one fails, as a crashed driver does before its shadow replaces it. */
	domain_fail(old, "failed by ktest");
	long why_running, why_both_failed, why_last;
	bool running_found = finds(SHARED, cur, &why_running);
	char kill_err[CTL_ERR_MAX];
	int kill_rc = console_run(cmd_kill, SHARED, kill_err, sizeof kill_err);
	bool cur_failed = cur->state == DOMAIN_FAILING;
	bool none_when_both_failed = finds(SHARED, NULL, &why_both_failed);
	int destroyed_old = ktest_destroy(old);
	/* The only one left, failed, is still addressable: `destroy xb` must reach it. */
	bool last_found = finds(SHARED, cur, &why_last);
	ktest_destroy(cur);
	KT_ASSERT(running_found);
	KT_ASSERT_EQ(why_running, 0);
	KT_ASSERT_EQ(kill_rc, 0);
	KT_ASSERT(cur_failed);
	KT_ASSERT(none_when_both_failed);
	KT_ASSERT_EQ(why_both_failed, -MAPLE_ENOTUNIQ);
	KT_ASSERT_EQ(destroyed_old, 0);
	KT_ASSERT(last_found);
	KT_ASSERT_EQ(why_last, 0);
	return;
out:
	ktest_destroy(old);
	ktest_destroy(cur);
}

KTEST(domain_name_addresses_its_running_instance_beside_a_failed_one)
{
	ktest_run_counted(t, "kt-names", running_instance, NAMES_WAIT_NS);
}
