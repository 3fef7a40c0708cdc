/*
 * Kernel command-line options (kernel/lib/cmdline.c). The command line is
 * words separated by blanks (space, tab, CR, LF); a word is either a bare
 * flag (`quiet`) or `key=value` (`console=com1`, `test=a,b`). Values cannot
 * contain blanks; there is no quoting. When a key appears more than once the
 * last occurrence wins, so options appended later override earlier ones.
 * Keys are case-sensitive. Nothing here allocates or modifies the input.
 *
 * Both boot paths refuse a command line with any byte outside printable
 * ASCII (cmdline_bad_byte): efi-loader before it prints the line, the
 * kernel in boot_intake before it logs it. A booted kernel's command line
 * therefore has only spaces between words, and nothing in it can drive the
 * terminal on COM1 (an ESC sequence, a line break faking a log line).
 */
#ifndef MAPLE_CMDLINE_H
#define MAPLE_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Copy the value of the last `key=value` word into out (NUL-terminated).
 * A bare `key` word does not count. Returns false, leaving out as "" (when
 * outlen > 0), if the key is absent or the value needs more than outlen-1
 * bytes.
 */
bool cmdline_get(const char *cmdline, const char *key, char *out, size_t outlen);

/*
 * Whether a boolean option is on: true for a bare `key` or for
 * `key=1|on|yes|true`; false for `key=` with any other value or when the
 * key is absent. The last occurrence (bare or with a value) wins.
 */
bool cmdline_flag(const char *cmdline, const char *key);

/*
 * Parse the value of `key` as an unsigned number: decimal, or hexadecimal
 * with a 0x prefix. Returns false (and leaves *out alone) if the key is
 * absent, the value is empty, has trailing junk or overflows 64 bits.
 */
bool cmdline_get_u64(const char *cmdline, const char *key, uint64_t *out);

/*
 * Whether a comma-separated list (the value of e.g. `test=a,b`) names
 * `name`. The item `all` matches every name; empty items are ignored.
 */
bool cmdline_list_contains(const char *list, const char *name);

/*
 * The offset of the first of the len bytes at cmdline that is not
 * printable ASCII (0x20-0x7e), or len when there is none: C0 controls
 * (ESC, CR, LF, tab, NUL), DEL and every byte from 0x80 on are refused.
 */
size_t cmdline_bad_byte(const char *cmdline, size_t len);

/*
 * For a list that names things one by one (`domains=a,b`): the position
 * (from 1) of the first empty item, or 0 when every item has a name. An
 * empty list is one empty item; `a,` ends in one.
 */
unsigned cmdline_list_empty_item(const char *list);

#endif
