/* The kernel's own symbol table, generated at link time by tools/ksyms. */
#ifndef CORE_KSYMS_H
#define CORE_KSYMS_H

#include <stdint.h>

/* Name of the text symbol containing addr, or NULL; *offset is addr minus its start. */
const char *ksyms_lookup(uint64_t addr, uint64_t *offset);

#endif
