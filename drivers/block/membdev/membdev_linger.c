/*
 * membdev_linger: membdev built to stay 20 ms inside its first request after
 * the request's work is done and counted. After a restart that request is
 * the one the shadow retries, so this holds open, every time, the window in
 * which a strike on a "serving" instance crashes the retried request again
 * (docs/recovery.md, "Striking a driver"). For the recovery ktest only.
 */
#define MEMBDEV_LINGER_NS 20000000ULL
#include "membdev.c"
