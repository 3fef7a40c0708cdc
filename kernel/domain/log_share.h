/*
 * A domain's share of the log (SYS_LOG), one copy of the rule for both
 * platforms: a burst of DOMAIN_LOG_BURST lines, then DOMAIN_LOG_PER_S a
 * second; lines past that are dropped (-MAPLE_EQUOTA to the domain) and
 * the first drop is reported in one line. The VM's log is one serial line
 * every CPU writes under one lock, maple-hosted's the runtime's stdout:
 * without a share, one domain looping on SYS_LOG would fill it and keep
 * every other writer waiting. The VM (domain/syscall.c) keeps the state in
 * struct domain under its lock, maple-hosted (hosted/syscalls.c) in struct
 * hosted_domain. Portable: klog only.
 */
#ifndef DOMAIN_LOG_SHARE_H
#define DOMAIN_LOG_SHARE_H

#include <stdbool.h>
#include <stdint.h>

#define DOMAIN_LOG_BURST 64
#define DOMAIN_LOG_PER_S 32

struct log_share {
	uint64_t tokens;    /* lines it may still write */
	uint64_t earned_ns; /* when it last earned one; 0: it has written none */
	bool over_noted;    /* the drop line was logged */
};

/* Whether one more line may be written at now_ns (a monotonic clock); a
 * line taken counts. *note is set when this is the domain's first dropped
 * line: the caller then logs log_share_note's line (outside its lock). */
bool log_share_take(struct log_share *s, uint64_t now_ns, bool *note);

/* "domain: rogue (id 2) logs more than 64 lines at once or 32 a second:
 * the excess is dropped" */
void log_share_note(const char *name, uint32_t id);

#endif
