/*
 * victim's interface, for the isolation tests: it keeps VICTIM_SECRET in
 * VICTIM_WORDS words of its data segment, of a heap buffer and of a buffer
 * on a long-lived thread's stack, tells where they are, and checks that
 * nobody changed them. Plain numbers, so kernel tests can include it too.
 */
#ifndef DOMAINS_VICTIM_H
#define DOMAINS_VICTIM_H

#define VICTIM_SECRET 0x5ec7e75ec7e7f00dULL
#define VICTIM_WORDS  64

/* Its methods (heap_addr, data_addr, check, stack_addr): domains/idl/victim.idl. */
#include <idl/victim_methods.h>

#endif
