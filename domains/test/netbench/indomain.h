/*
 * The in-domain path of bench=net: an image that links a Net driver with
 * the client loop (loop.c) exports NetBench with bench() calling the
 * driver's submit_and_poll as a plain function, no gate between them.
 */
#ifndef DOMAINS_NETBENCH_INDOMAIN_H
#define DOMAINS_NETBENCH_INDOMAIN_H

#include <idl/net.h>

/* Export NetBench for the driver whose methods are impl (already started). */
long nb_export_indomain(const struct Net_impl *impl);

#endif
