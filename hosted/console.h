/* maple-hosted's control console on a unix socket (console.c). */
#ifndef HOSTED_CONSOLE_H
#define HOSTED_CONSOLE_H

/* serve SOCKET IMAGE...: load and initialise the images, then answer the
 * control console protocol on SOCKET until `shutdown`. Exit status as
 * main's. */
int hosted_serve(int n, char **args);

/* Whether s is a whole number in C syntax (strtol, base 0), into *out: the
 * syntax of the console's arguments and of main's. */
int hosted_number(const char *s, long *out);

#endif
