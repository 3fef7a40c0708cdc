"""Shadows: the generated logic of a domain that stands between clients and a
restartable driver (RedLeaf's shadow domains; docs/idl.md, "Shadows").

A shadow exports the driver's interface and forwards every call with the
same method word, so RRefs move and borrow exactly as they would between
client and driver. It records each successful @replay call (the checker has
made sure those take no RRefs) and, when a forwarded call finds the driver
crashed, destroys it, creates a new one from the same image, replays the
record in order and retries the call if the method is @idempotent.

Concurrency: the driver handle is the only state calls read without the
lock. Handles are never reused (the kernel's handle carries a generation),
so "the driver I called" identifies a driver: a thread that saw a crash
restarts only if the handle it called is still the current one; otherwise
another thread has already restarted and it just retries. @replay calls
hold the lock across the call and the record, so a restart never replays a
log that misses a call the new driver did not see.

Checks: a shadow can also judge the answers of a driver that did not fail.
Whatever is specific to an interface (a block device's checksums) is
hand-written beside the shadow domain and handed to I_shadow_start_checked
as a table of three hooks; the generated code only calls them around each
forwarded call and, when the checker finds an answer wrong, takes the same
restart path as for a crash, then sends the call again if it may be.
"""
from string import Template

LOG_MAX = 64
RETRIES = 3
RESTARTS = 3

DECLS = Template("""\
/*
 * ${I}'s shadow (docs/idl.md, "Shadows"). A shadow domain's domain_main is
 * `return ${I}_shadow_start("driver-image");`: it creates the driver, exports
 * ${I} itself, and from then on forwards every call to the driver. When the
 * driver fails during a call (-MAPLE_ECALLEE, -MAPLE_EDEAD, -MAPLE_ETIMEDOUT)
 * it destroys it, creates a new one from the image, replays the successful
 * @replay calls in order and retries @idempotent calls (up to
 * ${I}_SHADOW_RETRIES times); other calls return the error, except
 * -MAPLE_EDEAD: the driver was not running when the call reached it, so
 * no part of the call ran and the shadow still holds what it moves; it is
 * sent to the new driver like an idempotent call (else a batch moved to the
 * shadow would stay with it). The replay log
 * holds ${I}_SHADOW_LOG_MAX calls; a @replay call that finds it full fails
 * with -MAPLE_ENOMEM without reaching the driver, unless it is @resets: one
 * that succeeds sets the driver's whole configuration afresh, so the log
 * then holds it alone, and no client can fill the log with it.
 */
#define ${I}_SHADOW_LOG_MAX  ${LOG_MAX}
#define ${I}_SHADOW_RETRIES  ${RETRIES}
#define ${I}_SHADOW_RESTARTS ${RESTARTS} /* attempts per crash, if replaying crashes again */

struct ${I}_shadow_stats {
	uint64_t driver;   /* the current driver's handle */
	uint64_t restarts; /* drivers created after the first */
	uint64_t replayed; /* calls replayed into them */
	uint64_t retries;  /* calls sent again: @idempotent ones, and any that found the driver dead */
	uint64_t wrong;    /* answers the checks found wrong (each restarted its driver) */
	uint32_t log_len;  /* @replay calls recorded */
};

/* Whether a call's result says the driver failed (during it, before it, or
 * stopped by the watchdog): the shadow's crash path, for checks too. */
static inline bool ${I}_shadow_crashed(long r)
{
	return r == -MAPLE_ECALLEE || r == -MAPLE_EDEAD || r == -MAPLE_ETIMEDOUT;
}

/*
 * End-to-end checks (docs/idl.md, "Shadow checks"): what a driver that runs
 * on but answers wrongly looks like is the interface's business, so the
 * shadow domain supplies it. begin runs before a call reaches the driver and
 * may refuse it (the client gets its error; the driver never sees the call),
 * and may replace its arguments a[]: every attempt sends the driver those
 * (the shadow's own copy of what a client lends, so that nothing the client
 * writes during the call reaches what the driver is judged on), and a
 * @replay call records them;
 * check runs after every attempt, with its result in *r, which it may change
 * (to a crash's error if the driver failed while check asked it something:
 * the crash path follows); end runs once after the last attempt, with the
 * result the client gets. check's verdict, for an attempt that did not crash:
 * RIGHT passes *r on; WRONG_REDO makes the shadow log the driver as wrong,
 * restart it exactly as after a crash and, for a call it may send again,
 * send it again; WRONG_FAIL restarts it too but returns *r (check must have
 * made *r safe to return: `last` says no attempt follows).
 */
enum ${I}_shadow_verdict {
	${I}_SHADOW_RIGHT,
	${I}_SHADOW_WRONG_REDO,
	${I}_SHADOW_WRONG_FAIL,
};

struct ${I}_shadow_checks {
	long (*begin)(uint32_t method, long a[4], void **token);
	enum ${I}_shadow_verdict (*check)(uint32_t method, void *token, uint64_t driver,
					  bool last, long *r);
	void (*end)(uint32_t method, void *token, long r);
};

long ${I}_shadow_start(const char *driver_image);
long ${I}_shadow_start_checked(const char *driver_image, const struct ${I}_shadow_checks *checks);
void ${I}_shadow_get_stats(struct ${I}_shadow_stats *out);
""")

SOURCE = Template("""\
/* ---- ${I}: shadow (docs/idl.md, "Shadows"; tools/idl/shadow.py) ---- */

struct ${I}_shadow_call {
	uint64_t word;
	long a[4];
};

static struct ${I}_shadow_state {
	struct dom_lock lock; /* restarts, the log, @replay calls */
	const char *image;
	const struct ${I}_shadow_checks *checks; /* NULL: fail-stop recovery only */
	uint64_t driver; /* read without the lock: atomic */
	struct ${I}_shadow_stats stats;
	struct ${I}_shadow_call log[${I}_SHADOW_LOG_MAX];
} ${I}_shadow;

/* With the lock held: replace the driver `called` with a new one, unless
 * another thread has already. 0, or why there is no working driver. */
static long ${I}_shadow_restart_locked(uint64_t called)
{
	struct ${I}_shadow_state *s = &${I}_shadow;
	long r = -MAPLE_EDEAD;
	for (int attempt = 0; attempt < ${I}_SHADOW_RESTARTS; attempt++) {
		uint64_t old = __atomic_load_n(&s->driver, __ATOMIC_RELAXED);
		if (old != called)
			return 0;
		/* An error here only means the old driver is gone already. */
		maple_domain_destroy(old);
		long h = maple_domain_create(s->image);
		if (h < 0) {
			/* The new driver may have crashed in its own domain_main (or
			 * been stopped there by the watchdog): the kernel reports any
			 * failed start the same way, so try again, within the bound. */
			dom_printf("shadow ${I}: cannot restart %s: error %ld", s->image, h);
			r = h;
			continue;
		}
		__atomic_store_n(&s->driver, (uint64_t)h, __ATOMIC_RELEASE);
		s->stats.restarts++;
		called = (uint64_t)h;
		r = 0;
		uint32_t i;
		for (i = 0; i < s->stats.log_len && r >= 0; i++) {
			const struct ${I}_shadow_call *c = &s->log[i];
			r = maple_xcall(called, c->word, c->a[0], c->a[1], c->a[2], c->a[3]);
		}
		if (r >= 0) {
			s->stats.replayed += i;
			dom_printf("shadow ${I}: restarted %s "
				   "(restart %lu), replayed %u calls",
				   s->image, (unsigned long)s->stats.restarts, i);
			return 0;
		}
		dom_printf("shadow ${I}: replaying call %u into %s failed: error %ld", i - 1,
			   s->image, r);
		if (!${I}_shadow_crashed(r))
			return r;
	}
	return r;
}

static const char *const ${I}_shadow_method_names[] = {
${NAMES}};

/* The checks' verdict on an attempt the driver returned from (*r); a wrong
 * answer is logged, naming the driver and the method, as the restart is. */
static enum ${I}_shadow_verdict ${I}_shadow_judge(uint32_t method, void *token, uint64_t called,
						 bool last, long *r)
{
	const struct ${I}_shadow_checks *k = ${I}_shadow.checks;
	if (!k)
		return ${I}_SHADOW_RIGHT;
	enum ${I}_shadow_verdict v = k->check(method, token, called, last, r);
	if (v != ${I}_SHADOW_RIGHT) {
		__atomic_add_fetch(&${I}_shadow.stats.wrong, 1, __ATOMIC_RELAXED);
		dom_printf("shadow ${I}: %s (handle %#lx) answered %s wrongly; restarting it",
			   ${I}_shadow.image, (unsigned long)called, ${I}_shadow_method_names[method]);
	}
	return v;
}

static long ${I}_shadow_forward(uint64_t word, bool replay, bool resets, bool idempotent,
				long a0, long a1, long a2, long a3)
{
	struct ${I}_shadow_state *s = &${I}_shadow;
	const uint32_t method = (uint32_t)(word & XCALL_METHOD_MASK);
	long a[4] = {a0, a1, a2, a3}; /* what the driver gets: begin may replace them */
	void *token = NULL;
	if (replay) {
		dom_lock(&s->lock);
		if (!resets && s->stats.log_len == ${I}_SHADOW_LOG_MAX) {
			dom_unlock(&s->lock);
			return -MAPLE_ENOMEM;
		}
	}
	long r = s->checks ? s->checks->begin(method, a, &token) : 0;
	for (int tries = 0; r >= 0 || tries > 0; tries++) {
		uint64_t called = __atomic_load_n(&s->driver, __ATOMIC_ACQUIRE);
		r = maple_xcall(called, word, a[0], a[1], a[2], a[3]);
		/* Whether this is the last attempt, if the driver fails it or the
		 * checks find it wrong: then nothing is sent again. */
		bool last = !idempotent || tries == ${I}_SHADOW_RETRIES;
		enum ${I}_shadow_verdict v = ${I}_shadow_judge(method, token, called, last, &r);
		if (!${I}_shadow_crashed(r) && v == ${I}_SHADOW_RIGHT)
			break;
		if (!replay)
			dom_lock(&s->lock);
		long e = ${I}_shadow_restart_locked(called);
		if (!replay)
			dom_unlock(&s->lock);
		if (v != ${I}_SHADOW_RIGHT) {
			/* No working driver: the client gets why, not the wrong
			 * driver's answer. */
			if (e < 0)
				r = e;
			if (e < 0 || v == ${I}_SHADOW_WRONG_FAIL || last)
				break;
			__atomic_add_fetch(&s->stats.retries, 1, __ATOMIC_RELAXED);
			continue;
		}
		if (e < 0 || (!idempotent && r != -MAPLE_EDEAD) || tries == ${I}_SHADOW_RETRIES)
			break;
		__atomic_add_fetch(&s->stats.retries, 1, __ATOMIC_RELAXED);
	}
	if (s->checks)
		s->checks->end(method, token, r);
	if (replay) {
		if (r >= 0) {
			/* What the earlier calls set, this one has set again. */
			if (resets)
				s->stats.log_len = 0;
			struct ${I}_shadow_call *c = &s->log[s->stats.log_len++];
			c->word = word;
			for (int i = 0; i < 4; i++)
				c->a[i] = a[i];
		}
		dom_unlock(&s->lock);
	}
	return r;
}

${ENTRIES}
long ${I}_shadow_start(const char *driver_image)
{
	return ${I}_shadow_start_checked(driver_image, NULL);
}

long ${I}_shadow_start_checked(const char *driver_image, const struct ${I}_shadow_checks *checks)
{
	if (checks && (!checks->begin || !checks->check || !checks->end))
		return -MAPLE_EINVAL;
	${I}_shadow.image = driver_image;
	${I}_shadow.checks = checks;
	long h = maple_domain_create(driver_image);
	if (h < 0)
		return h;
	__atomic_store_n(&${I}_shadow.driver, (uint64_t)h, __ATOMIC_RELEASE);
	const uint64_t methods[] = {
${TABLE}	};
	return maple_export(methods, DOM_ARRAY_LEN(methods));
}

void ${I}_shadow_get_stats(struct ${I}_shadow_stats *out)
{
	struct ${I}_shadow_state *s = &${I}_shadow;
	dom_lock(&s->lock);
	*out = s->stats;
	out->driver = __atomic_load_n(&s->driver, __ATOMIC_ACQUIRE);
	out->retries = __atomic_load_n(&s->stats.retries, __ATOMIC_RELAXED);
	out->wrong = __atomic_load_n(&s->stats.wrong, __ATOMIC_RELAXED);
	dom_unlock(&s->lock);
}
""")

ENTRY = Template("""\
static long ${I}_shadow_entry_${M}(long a0, long a1, long a2, long a3)
{
	return ${I}_shadow_forward(${I}_${M}_WORD, ${REPLAY}, ${RESETS}, ${IDEMPOTENT}, a0, a1, a2,
				   a3);
}
""")


def shadow_decls(iface):
    """Header lines: the shadow's constants, stats and entry points."""
    text = DECLS.substitute(I=iface.name, LOG_MAX=LOG_MAX, RETRIES=RETRIES, RESTARTS=RESTARTS)
    return text.split("\n")


def shadow_source(iface):
    """Source lines: the whole shadow of one interface."""
    entries = "\n".join(ENTRY.substitute(I=iface.name, M=m.name,
                                         REPLAY="true" if m.replay else "false",
                                         RESETS="true" if m.resets else "false",
                                         IDEMPOTENT="true" if m.idempotent else "false")
                        for m in iface.methods)
    table = "".join(f"\t\t[{iface.name}_{m.name}_METHOD] = "
                    f"MAPLE_METHOD({iface.name}_shadow_entry_{m.name}),\n" for m in iface.methods)
    names = "".join(f'\t[{iface.name}_{m.name}_METHOD] = "{m.name}",\n' for m in iface.methods)
    return SOURCE.substitute(I=iface.name, ENTRIES=entries, TABLE=table, NAMES=names).split("\n")
