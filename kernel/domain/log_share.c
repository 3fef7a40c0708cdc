/*
 * A domain's share of the log (domain/log_share.h): a token bucket, built
 * into the VM's kernel, maple-hosted and the host unit tests
 * (kernel/test/test_log_share.c) alike.
 */
#include <core/log.h>
#include <domain/log_share.h>

bool log_share_take(struct log_share *s, uint64_t now_ns, bool *note)
{
	const uint64_t per_line_ns = 1000000000ULL / DOMAIN_LOG_PER_S;
	if (!s->earned_ns) { /* its first line */
		s->tokens = DOMAIN_LOG_BURST;
		s->earned_ns = now_ns;
	}
	uint64_t earned = (now_ns - s->earned_ns) / per_line_ns;
	s->earned_ns += earned * per_line_ns;
	s->tokens = s->tokens + earned > DOMAIN_LOG_BURST ? DOMAIN_LOG_BURST : s->tokens + earned;
	bool ok = s->tokens > 0;
	*note = !ok && !s->over_noted;
	if (ok)
		s->tokens--;
	if (*note)
		s->over_noted = true;
	return ok;
}

void log_share_note(const char *name, uint32_t id)
{
	klog("domain: %s (id %u) logs more than %d lines at once or %d a second: the excess is "
	     "dropped",
	     name, id, DOMAIN_LOG_BURST, DOMAIN_LOG_PER_S);
}
