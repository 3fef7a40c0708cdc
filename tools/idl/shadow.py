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
 * with -MAPLE_ENOMEM without reaching the driver.
 */
#define ${I}_SHADOW_LOG_MAX  ${LOG_MAX}
#define ${I}_SHADOW_RETRIES  ${RETRIES}
#define ${I}_SHADOW_RESTARTS ${RESTARTS} /* attempts per crash, if replaying crashes again */

struct ${I}_shadow_stats {
	uint64_t driver;   /* the current driver's handle */
	uint64_t restarts; /* drivers created after the first */
	uint64_t replayed; /* calls replayed into them */
	uint64_t retries;  /* calls sent again: @idempotent ones, and any that found the driver dead */
	uint32_t log_len;  /* @replay calls recorded */
};

long ${I}_shadow_start(const char *driver_image);
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
	uint64_t driver; /* read without the lock: atomic */
	struct ${I}_shadow_stats stats;
	struct ${I}_shadow_call log[${I}_SHADOW_LOG_MAX];
} ${I}_shadow;

static bool ${I}_shadow_crashed(long r)
{
	return r == -MAPLE_ECALLEE || r == -MAPLE_EDEAD || r == -MAPLE_ETIMEDOUT;
}

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

static long ${I}_shadow_forward(uint64_t word, bool replay, bool idempotent, long a0, long a1,
				long a2, long a3)
{
	struct ${I}_shadow_state *s = &${I}_shadow;
	if (replay) {
		dom_lock(&s->lock);
		if (s->stats.log_len == ${I}_SHADOW_LOG_MAX) {
			dom_unlock(&s->lock);
			return -MAPLE_ENOMEM;
		}
	}
	long r;
	for (int tries = 0;; tries++) {
		uint64_t called = __atomic_load_n(&s->driver, __ATOMIC_ACQUIRE);
		r = maple_xcall(called, word, a0, a1, a2, a3);
		if (!${I}_shadow_crashed(r))
			break;
		if (!replay)
			dom_lock(&s->lock);
		long e = ${I}_shadow_restart_locked(called);
		if (!replay)
			dom_unlock(&s->lock);
		if (e < 0 || (!idempotent && r != -MAPLE_EDEAD) || tries == ${I}_SHADOW_RETRIES)
			break;
		__atomic_add_fetch(&s->stats.retries, 1, __ATOMIC_RELAXED);
	}
	if (replay) {
		if (r >= 0) {
			struct ${I}_shadow_call *c = &s->log[s->stats.log_len++];
			c->word = word;
			c->a[0] = a0;
			c->a[1] = a1;
			c->a[2] = a2;
			c->a[3] = a3;
		}
		dom_unlock(&s->lock);
	}
	return r;
}

${ENTRIES}
long ${I}_shadow_start(const char *driver_image)
{
	${I}_shadow.image = driver_image;
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
	dom_unlock(&s->lock);
}
""")

ENTRY = Template("""\
static long ${I}_shadow_entry_${M}(long a0, long a1, long a2, long a3)
{
	return ${I}_shadow_forward(${I}_${M}_WORD, ${REPLAY}, ${IDEMPOTENT}, a0, a1, a2, a3);
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
                                         IDEMPOTENT="true" if m.idempotent else "false")
                        for m in iface.methods)
    table = "".join(f"\t\t[{iface.name}_{m.name}_METHOD] = "
                    f"MAPLE_METHOD({iface.name}_shadow_entry_{m.name}),\n" for m in iface.methods)
    return SOURCE.substitute(I=iface.name, ENTRIES=entries, TABLE=table).split("\n")
