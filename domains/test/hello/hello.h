/*
 * hello's interface: method numbers only, so kernel tests can include it.
 * It answers with its own handle, which proves a call reached this very
 * domain, ran its code in ring 3, made a syscall there and came back.
 */
#ifndef DOMAINS_HELLO_H
#define DOMAINS_HELLO_H

#define HELLO_GREET 0 /* long greet(long x): x + its own handle (maple_domain_id()) */

#endif
