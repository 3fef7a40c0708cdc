/* rogue's authority cases (test/rogue/cases.h, 40-59): run one, return its result. */
#ifndef DOMAINS_ROGUE_AUTH_H
#define DOMAINS_ROGUE_AUTH_H

#include <stdint.h>

long rogue_auth_run(long number, uint64_t target);

#endif
