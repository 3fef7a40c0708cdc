/*
 * Control console commands for isolation domains: list them (with their
 * use of each limit, who created each, and which devices are granted to
 * whom), create and destroy them, kill one, or make one take a CPU fault on
 * demand. The console is the operator: it may create any image and destroy
 * any domain.
 */
#include <console/console.h>
#include <dev/device.h>
#include <domain/domain.h>
#include <domain/gate.h>
#include <domain/names.h>
#include <lib/fmt.h>
#include <lib/string.h>
#include <xheap/rref.h>

struct listing {
	struct ctl_reply *r;
	unsigned count;
};

static const char *state_name(const struct domain *d)
{
	switch (d->state) {
	case DOMAIN_CREATING:
		return "creating";
	case DOMAIN_RUNNING:
		return "running";
	case DOMAIN_FAILING:
		return "failed";
	case DOMAIN_DESTROYING:
		return "destroying";
	default:
		return "gone";
	}
}

static void list_one(struct domain *d, void *arg)
{
	struct listing *l = arg;
	const struct gate_domain *gd = gate_domtab(d->id);
	struct gate_calls calls = gate_domain_calls(d->id);
	char mem[40], threads[24], rrefs[24];
	uint64_t rref_count, rref_bytes;
	/* Use against limit (domain.h, struct domain_limits; xheap/rref.h,
	 * struct rref_limits): memory charged (image, heap, stacks, page
	 * tables), threads it created, and RRefs charged to it. */
	rref_domain_usage(d->id, &rref_count, &rref_bytes);
	fmt_snprintf(mem, sizeof mem, "%lu/%lu", d->mem_charged * 4, d->limits.mem_pages * 4);
	fmt_snprintf(threads, sizeof threads, "%u/%u", domain_threads(d), d->limits.threads);
	fmt_snprintf(rrefs, sizeof rrefs, "%lu/%lu", rref_count, d->rref_limits.headers);
	ctl_print(l->r, "%3u %-12s %-10s %3d %8lu %9lu %9lu %6lu %9lu %8lu %17s %7s %11s %-12s  %s",
		  d->id, d->name, state_name(d), d->pkey, d->pages * 4, calls.in, calls.out,
		  gd->active, d->syscalls, d->failures, mem, threads, rrefs, d->creator_name,
		  d->state == DOMAIN_RUNNING ? "" : d->fail_reason);
	l->count++;
}

static void list_device(const char *line, void *arg)
{
	ctl_print(arg, "device %s", line);
}

int cmd_domains(struct ctl_reply *r, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	struct listing l = {.r = r};
	ctl_print(r, "%3s %-12s %-10s %3s %8s %9s %9s %6s %9s %8s %17s %7s %11s %-12s  %s", "id",
		  "name", "state", "key", "mem_KiB", "calls_in", "calls_out", "active", "syscalls",
		  "failures", "charged/limit_KiB", "threads", "rrefs", "created_by", "reason");
	domain_foreach(list_one, &l);
	if (!l.count)
		ctl_print(r, "(no domains)");
	device_foreach(list_device, r);
	return 0;
}

struct same_name {
	const char *name;
	unsigned count;
};

static void count_named(struct domain *d, void *arg)
{
	struct same_name *s = arg;
	s->count += !strcmp(d->name, s->name);
}

/* The domain a name or id addresses, for a command (console/console.h). A
 * name several domains share is refused rather than taken to mean the first
 * of them: `kill xb` must not fail some other `xb` than the operator meant
 * (domain/names.h). */
struct domain *console_find_domain(struct ctl_reply *r, const char *name)
{
	long why;
	struct domain *d = domain_get_by_name(name, &why);
	if (d)
		return d;
	struct same_name s = {.name = name};
	if (why == -MAPLE_ENOTUNIQ)
		domain_foreach(count_named, &s);
	char msg[160];
	names_console_refusal(name, why, s.count, msg, sizeof msg);
	ctl_fail(r, "%s", msg);
	return NULL;
}

int cmd_create(struct ctl_reply *r, int argc, char **argv)
{
	(void)argc;
	char err[128];
	struct domain *d = domain_create(argv[1], err, sizeof err);
	if (!d)
		return ctl_fail(r, "%s", err);
	ctl_print(r, "created %s: id %u, key %d", d->name, d->id, d->pkey);
	return 0;
}

int cmd_destroy(struct ctl_reply *r, int argc, char **argv)
{
	(void)argc;
	struct domain *d = console_find_domain(r, argv[1]);
	if (!d)
		return -1;
	char err[160];
	int rc = domain_destroy(domain_handle(d), err, sizeof err);
	domain_put(d);
	return rc < 0 ? ctl_fail(r, "%s", err) : 0;
}

int cmd_kill(struct ctl_reply *r, int argc, char **argv)
{
	(void)argc;
	struct domain *d = console_find_domain(r, argv[1]);
	if (!d)
		return -1;
	int rc = 0;
	if (d->state != DOMAIN_RUNNING)
		rc = ctl_fail(r, "%s is not running (%s): %s", d->name, state_name(d),
			      d->fail_reason);
	else {
		domain_fail(d, "killed from the control console");
		ctl_print(r, "%s failed; threads inside it unwind to their callers", d->name);
	}
	domain_put(d);
	return rc;
}

int cmd_inject(struct ctl_reply *r, int argc, char **argv)
{
	(void)argc;
	struct domain *d = console_find_domain(r, argv[1]);
	if (!d)
		return -1;
	enum inject_fault f = inject_parse(argv[2]);
	int rc = 0;
	if (f == INJECT_NONE)
		rc = ctl_fail(r, "unknown fault '%s' (one of: %s)", argv[2], inject_names());
	else if (d->state != DOMAIN_RUNNING)
		rc = ctl_fail(r, "%s is not running", d->name);
	else {
		__atomic_store_n(&d->inject, f, __ATOMIC_RELEASE);
		ctl_print(r, "armed: the next thread to return to %s takes a %s fault", d->name,
			  argv[2]);
	}
	domain_put(d);
	return rc;
}
