/*
 * maple-hosted: the Linux-hosted platform (docs/platform.md, "The linux
 * platform"). What exists so far: the VM's loader checks and placement with
 * the VM's key layout, and the hosted benchmark's native rows. Running
 * domains through the gate is not built yet (docs/platform.md says what is
 * missing).
 *
 *   maple-hosted probe                 does this process get protection keys?
 *   maple-hosted load IMAGE...         check and place each image as the VM would
 *   maple-hosted bench [SAMPLES]       the native rows of bench/xcall --hosted
 *
 * Exit status: 0 done, 1 an image was refused, 2 bad usage or a host error.
 */
#include "bench.h"
#include "loader.h"
#include "pkeys.h"

#include <maple/abi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USAGE "usage: maple-hosted probe | load IMAGE... | bench [SAMPLES]\n"

/* The VM's domain ids start at 1 (slot 0 is never a domain). */
#define FIRST_DOMAIN_ID 1

static int cmd_probe(void)
{
	char why[160];
	if (!pkeys_available(why, sizeof why)) {
		printf("hosted: pku: no: %s\n", why);
		return 0;
	}
	if (pkeys_layout(why, sizeof why) < 0) {
		fprintf(stderr, "maple-hosted: %s\n", why);
		return 2;
	}
	printf("hosted: pku: yes: TRUSTED %d SHARED %d GATE_RO %d, domains from %d\n", PKEY_TRUSTED,
	       PKEY_SHARED, PKEY_GATE_RO, PKEY_FIRST_DOMAIN);
	return 0;
}

static int cmd_load(int n, char **paths)
{
	char why[160];
	int keys = pkeys_available(why, sizeof why);
	if (!keys)
		printf("hosted: placing without protection keys: %s\n", why);
	else if (pkeys_layout(why, sizeof why) < 0) {
		fprintf(stderr, "maple-hosted: %s\n", why);
		return 2;
	}
	if (n > PKEY_COUNT - PKEY_FIRST_DOMAIN) {
		fprintf(stderr, "maple-hosted: %d images, but there are %d domain keys\n", n,
			PKEY_COUNT - PKEY_FIRST_DOMAIN);
		return 2;
	}
	int status = 0;
	unsigned id = FIRST_DOMAIN_ID;
	for (int i = 0; i < n; i++) {
		struct hosted_domain d;
		char err[256];
		if (hosted_load(paths[i], id, keys, &d, err, sizeof err) < 0) {
			printf("hosted: refused %s\n", err);
			status = 1;
			continue;
		}
		id++;
		/* What Linux says the pages carry, not only what we asked for. */
		printf("hosted: loaded %s id %u at %#lx, %lu KiB, entry +%#lx, key %d (smaps %d)\n",
		       d.name, d.id, (unsigned long)d.base, (unsigned long)(d.span >> 10),
		       (unsigned long)(d.entry - d.base), d.pkey, pkeys_of_mapping(d.base));
	}
	return status;
}

static int cmd_bench(int n, char **args)
{
	unsigned long samples = 20000;
	if (n > 1) {
		fputs(USAGE, stderr);
		return 2;
	}
	if (n == 1) {
		char *end;
		samples = strtoul(args[0], &end, 10);
		if (*end || end == args[0] || samples < 100 || samples > 10000000) {
			fprintf(stderr,
				"maple-hosted: bench: SAMPLES '%s' is not a count from 100 "
				"to 10000000\n",
				args[0]);
			return 2;
		}
	}
	return hosted_bench(samples);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "probe") && argc == 2)
		return cmd_probe();
	if (argc >= 3 && !strcmp(argv[1], "load"))
		return cmd_load(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "bench"))
		return cmd_bench(argc - 2, argv + 2);
	fputs(USAGE, stderr);
	return 2;
}
