/*
 * A domain's log text made safe to print (log_text.c): both platforms'
 * SYS_LOG (kernel/domain/syscall.c, hosted/entry.c) print a domain's bytes
 * on a terminal or serial line, so they must carry no control characters.
 */
#ifndef LIB_LOG_TEXT_H
#define LIB_LOG_TEXT_H

#include <stdint.h>

/* Drop trailing newlines and replace every other control byte (and DEL)
 * with '?', in place; returns the length to print. */
uint64_t log_text_clean(char *buf, uint64_t n);

#endif
