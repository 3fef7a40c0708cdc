/* The control console on COM2 (protocol: docs/console.md, kernel/lib/ctl.h). */
#ifndef CORE_CONSOLE_H
#define CORE_CONSOLE_H

#include <lib/ctl.h>
#include <stddef.h>
#include <stdint.h>

/* Route COM2's interrupt and start the console thread. */
void console_init(void);

/* Receive flow control is on from boot. Only the test image turns it off
 * (the `flow` command), to make the receive ring overflow for real and test
 * that every damaged line is answered `ERR overrun` and never run. */
void console_rx_flow_control(bool on);

struct domain;

/* The domain a name or decimal id addresses (domain_get_by_name), with a
 * reference the command puts (domain_put) when it is done; or NULL with the
 * reply's error set (no such domain, or a name several domains share). */
struct domain *console_find_domain(struct ctl_reply *r, const char *name);

/* Domain commands (console/console_domains.c). */
int cmd_domains(struct ctl_reply *r, int argc, char **argv);
int cmd_create(struct ctl_reply *r, int argc, char **argv);
int cmd_destroy(struct ctl_reply *r, int argc, char **argv);
int cmd_kill(struct ctl_reply *r, int argc, char **argv);
int cmd_inject(struct ctl_reply *r, int argc, char **argv);

/*
 * A table of console commands. The linker gathers every such table into
 * one (kernel.ld, .console_cmds), in link order: the production kernel's
 * (console/console_cmds.c) first, then those only the test image adds
 * (console/console_test.c: `call`, `panic-test`, `sleep`, `flow`). No #ifdef: an image has the
 * commands its source list compiles in. Explicitly aligned so that no
 * padding falls between two files' tables.
 */
#define CONSOLE_COMMANDS(name)                                                                     \
	static const struct ctl_cmd name[]                                                         \
		__attribute__((used, section(".console_cmds"), aligned(8)))
_Static_assert(sizeof(struct ctl_cmd) % 8 == 0, "console command tables are packed 8-aligned");

#endif
