/*
 * What a name addresses (domain/names.h), built into the VM's kernel,
 * maple-hosted and the host unit tests (kernel/test/test_names.c) alike.
 */
#include <domain/gate_layout.h>
#include <domain/names.h>
#include <lib/fmt.h>
#include <lib/string.h>
#include <maple/abi.h>

static bool addressable(enum domain_state s)
{
	return s == DOMAIN_CREATING || s == DOMAIN_RUNNING;
}

uint32_t names_resolve(const char *name_or_id, names_slot_fn slot, void *ctx, long *why,
		       unsigned *count)
{
	enum domain_state st;
	uint64_t id = 0;
	const char *p = name_or_id;
	while (*p >= '0' && *p <= '9' && id < GATE_MAX_DOMAINS)
		id = id * 10 + (uint64_t)(*p++ - '0');
	if (p != name_or_id && !*p) {
		bool found = id && id < GATE_MAX_DOMAINS && slot(ctx, (uint32_t)id, &st);
		*why = found ? 0 : -MAPLE_ESRCH;
		if (count)
			*count = found;
		return found ? (uint32_t)id : 0;
	}
	uint32_t live = 0, any = 0;
	unsigned nlive = 0, nany = 0;
	for (uint32_t i = 1; i < GATE_MAX_DOMAINS; i++) {
		const char *name = slot(ctx, i, &st);
		if (!name || strcmp(name, name_or_id))
			continue;
		any = any ? any : i;
		nany++;
		if (addressable(st)) {
			live = live ? live : i;
			nlive++;
		}
	}
	uint32_t found = nlive == 1 ? live : !nlive && nany == 1 ? any : 0;
	*why = found ? 0 : nany ? -MAPLE_ENOTUNIQ : -MAPLE_ESRCH;
	if (count)
		*count = nany;
	return found;
}

void names_console_refusal(const char *name, long why, unsigned count, char *buf, size_t len)
{
	if (why == -MAPLE_ENOTUNIQ)
		fmt_snprintf(buf, len, "'%s' names %u domains: give an id (see 'domains')", name,
			     count);
	else
		fmt_snprintf(buf, len, "no domain '%s' (see 'domains')", name);
}
