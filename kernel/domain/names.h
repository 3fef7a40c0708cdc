/*
 * What a name addresses (docs/isolation.md, "Names"), one copy of the rule
 * for both platforms' SYS_LOOKUP and control consoles. Names repeat: a
 * domain's name is its image's, an image may run as several domains at
 * once, and a shadow's new driver starts while the old one may still be
 * failed. So a name addresses a domain only where that is unambiguous: the
 * one instance of that name that is creating or running; or, when none
 * is, the only instance there is at all (a failed domain awaiting
 * `destroy`). Anything else is -MAPLE_ENOTUNIQ, and the caller must give
 * an id: a command must never reach whichever instance happens to come
 * first. A decimal number is an id. Portable: fmt only.
 */
#ifndef DOMAIN_NAMES_H
#define DOMAIN_NAMES_H

#include <domain/domain_state.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The platform's slot table: the name of the domain in slot id (NULL: the
 * slot is empty) and its state in *state. Called for ids 1 to
 * GATE_MAX_DOMAINS - 1, under whatever lock keeps the table still. */
typedef const char *(*names_slot_fn)(void *ctx, uint32_t id, enum domain_state *state);

/* The slot name_or_id addresses, or 0 with *why -MAPLE_ESRCH (none) or
 * -MAPLE_ENOTUNIQ (several, none of them alone in running); *why is 0 on
 * success. *count (if given): the domains named name_or_id, for the
 * console's refusal. */
uint32_t names_resolve(const char *name_or_id, names_slot_fn slot, void *ctx, long *why,
		       unsigned *count);

/* A console's refusal of a name names_resolve refused (why, count):
 * "'xb' names 8 domains: give an id (see 'domains')" or "no domain 'xb'
 * (see 'domains')". */
void names_console_refusal(const char *name, long why, unsigned count, char *buf, size_t len);

#endif
