/* The control console on COM2 (protocol: kernel/include/maple/ctl.h). */
#ifndef CORE_CONSOLE_H
#define CORE_CONSOLE_H

#include <maple/ctl.h>
#include <stddef.h>
#include <stdint.h>

/* Route COM2's interrupt and start the console thread. */
void console_init(void);

/* Bytes lost because the receive ring was full. */
uint64_t console_rx_dropped(void);

/* Domain commands (core/console_domains.c). */
int cmd_domains(struct ctl_reply *r, int argc, char **argv);
int cmd_create(struct ctl_reply *r, int argc, char **argv);
int cmd_destroy(struct ctl_reply *r, int argc, char **argv);
int cmd_kill(struct ctl_reply *r, int argc, char **argv);
int cmd_inject(struct ctl_reply *r, int argc, char **argv);
int cmd_call(struct ctl_reply *r, int argc, char **argv);

/* The command table (core/console_cmds.c). */
extern const struct ctl_cmd console_cmds[];
extern const size_t console_ncmds;

#endif
