/*
 * audit: ERIM's rule over the whole maple-hosted process. Protection keys
 * do not govern instruction fetch, so every executable byte of the process
 * is code a domain can jump to; this scan finds every WRPKRU, XRSTOR,
 * XRSTORS, WRFSBASE and WRGSBASE byte sequence in it and allows only the
 * runtime's audited sites.
 */
#ifndef HOSTED_AUDIT_H
#define HOSTED_AUDIT_H

#include <stddef.h>

/* Scan every executable mapping of this process (/proc/self/maps) with
 * elf_forbidden_at at every byte offset. 0 if every hit is an audited site
 * and every audited site was found; else -1 with why naming the first
 * other hit (instruction, bytes, mapping, offset) or the missing site.
 * With verbose, prints one `hosted: audit:` line per hit and a summary. */
int audit_process(int verbose, char *why, size_t whylen);

/* Audited WRPKRU site i (0, 1, ...): its address, and its name in *name;
 * NULL past the last. */
const void *audit_site(unsigned i, const char **name);

#endif
