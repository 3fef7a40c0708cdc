/*
 * maple-hosted: the Linux-hosted platform (docs/platform.md, "The linux
 * platform"): the VM's loader checks and placement with the VM's key
 * layout, upcalls and cross-domain calls through the same gate page, the
 * exchange heap, the seccomp trusted entry and faults that fail the domain,
 * domains that create and destroy domains (shadows restarting drivers), the
 * hosted benchmark's rows; docs/platform.md says what is missing.
 *
 *   maple-hosted probe                 does this process get protection keys?
 *   maple-hosted audit                 every PKRU-writing instruction in this
 *                                      process: the audited sites, nothing else
 *   maple-hosted load IMAGE...         check and place each image as the VM would
 *   maple-hosted bench [--nop-wrpkru] [SAMPLES]
 *                                      the rows of bench/xcall --hosted; with
 *                                      --nop-wrpkru (no key allocated) the
 *                                      gate's WRPKRUs are NOPs: a measurement
 *                                      of the rest, nothing isolated (runtime.c)
 *   maple-hosted test [NAME...]        the hosted tests (tests.c), each in a child
 *   maple-hosted serve SOCKET IMAGE... the control console on SOCKET (console.c)
 *   maple-hosted faults [N [SEED [WINDOW_MS [FLIP_AT BIT]]]]
 *                                      the fault campaign against membdev (faults.c)
 *   maple-hosted run IMAGE [METHOD [A0 [A1 [A2 [A3]]]]]
 *                                      place IMAGE, run its initialisation and
 *                                      then one of its methods, as the VM's
 *                                      kernel calls into a domain (an upcall)
 *
 * Exit status: 0 done, 1 an image was refused (or the audit found an
 * unaudited site), a domain failed or a leak was
 * found, 2 bad usage or a host error.
 */
#include "audit.h"
#include "bench.h"
#include "console.h"
#include "entry.h"
#include "faults.h"
#include "gate.h"
#include "loader.h"
#include "noavx512.h"
#include "pkeys.h"
#include "runtime.h"
#include "syscalls.h"
#include "tests.h"
#include "watchdog.h"

#include <maple/abi.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USAGE                                                                                      \
	"usage: maple-hosted probe | audit | load IMAGE... | bench [--nop-wrpkru] [SAMPLES] | "    \
	"run IMAGE [METHOD [A0..A3]] | test [NAME...] | serve SOCKET IMAGE... | "                  \
	"faults [N [SEED [WINDOW_MS [FLIP_AT BIT]]]]\n"

#define NOP_WRPKRU "--nop-wrpkru"

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

/* The start-up scan (audit.c) with a line for every site it finds. */
static int cmd_audit(void)
{
	char why[512];
	if (audit_process(1, why, sizeof why) < 0) {
		printf("hosted: audit: refused: %s\n", why);
		return 1;
	}
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
	int nop_wrpkru = n >= 1 && !strcmp(args[0], NOP_WRPKRU);
	n -= nop_wrpkru;
	args += nop_wrpkru;
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
	return hosted_bench(samples, nop_wrpkru);
}

/* The image's initialisation (with argument 0, as the VM's), then the method. */
static int upcalls(struct hosted_domain *d, long method, const long a[4])
{
	static const long none[4];
	char why[256];
	long r;
	fflush(stdout);
	if (entry_upcall(d, d->entry, none, &r, why, sizeof why) < 0) {
		printf("hosted: %s failed in its initialisation: %s\n", d->name, why);
		return 1;
	}
	printf("hosted: %s initialised: %ld, %u methods\n", d->name, r, d->nmethods);
	if (method < 0)
		return 0;
	if ((unsigned long)method >= d->nmethods) {
		printf("hosted: %s has no method %ld\n", d->name, method);
		return 1;
	}
	fflush(stdout);
	if (entry_upcall(d, d->methods[method], a, &r, why, sizeof why) < 0) {
		printf("hosted: %s failed in method %ld: %s\n", d->name, method, why);
		return 1;
	}
	printf("hosted: %s method %ld returned %ld\n", d->name, method, r);
	return 0;
}

static int cmd_run(int n, char **args)
{
	long method = -1, a[4] = {0, 0, 0, 0};
	if (n < 1 || n > 6 || (n >= 2 && !hosted_number(args[1], &method)) || method < -1) {
		fputs(USAGE, stderr);
		return 2;
	}
	for (int i = 2; i < n; i++)
		if (!hosted_number(args[i], &a[i - 2])) {
			fprintf(stderr, "maple-hosted: run: argument '%s' is not a number\n",
				args[i]);
			return 2;
		}
	/* Under keys where the machine has them: the domain runs with its
	 * own rights (PKRU_DOMAIN), the runtime with every key. */
	char why[256];
	int keys = pkeys_available(why, sizeof why);
	if (!keys)
		printf("hosted: placing without protection keys: %s\n", why);
	struct hosted_domain d = {0};
	/* The VM's call watchdog (watchdog.c): a domain that spins fails. */
	if (runtime_start(keys, why, sizeof why) < 0 ||
	    hwatch_start(HWATCH_DEFAULT_MS, why, sizeof why) < 0) {
		fprintf(stderr, "maple-hosted: %s\n", why);
		return 2;
	}
	if (hosted_load(args[0], FIRST_DOMAIN_ID, keys, &d, why, sizeof why) < 0 ||
	    hgate_add(&d, why, sizeof why) < 0) {
		printf("hosted: refused %s\n", why);
		return 1;
	}
	int status = upcalls(&d, method, a);
	/* Its threads (SYS_THREAD_CREATE) leave it before it goes: failed, each
	 * unwinds at its next system call (a sleeper within a few ms). */
	if (hgate_fail(&d))
		snprintf(d.fail_reason, sizeof d.fail_reason, "destroyed");
	hsys_run_threads();
	hgate_remove(&d);
	/* The leak check: every upcall's stack is gone again. */
	int extra = hosted_slot_extra(&d);
	if (extra)
		printf("hosted: leak: %d mappings in %s's slot besides its image\n", extra, d.name);
	else
		printf("hosted: %s's slot holds its image only\n", d.name);
	return extra ? 1 : status;
}

/*
 * --nop-wrpkru runs the gate with no PKRU writes: it is bench's alone. Any
 * other command that names it anywhere (run, serve, test, faults, ...:
 * each would run domains, or tests that trust the gate's WRPKRUs) is
 * refused here, before anything runs, with exit 2.
 */
static int nop_wrpkru_elsewhere(int argc, char **argv)
{
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], NOP_WRPKRU)) {
			fprintf(stderr,
				"maple-hosted: %s: %s refused: only `bench` has it (the gate's "
				"WRPKRUs as NOPs, nothing isolated: a measurement mode)\n",
				argv[1], NOP_WRPKRU);
			return 1;
		}
	return 0;
}

int main(int argc, char **argv)
{
	noavx512_reexec(argv); /* glibc off AVX-512 state, for the gate's sake */
	if (argc >= 2 && strcmp(argv[1], "bench") && nop_wrpkru_elsewhere(argc, argv))
		return 2;
	if (argc >= 2 && !strcmp(argv[1], "probe") && argc == 2)
		return cmd_probe();
	if (argc == 2 && !strcmp(argv[1], "audit"))
		return cmd_audit();
	if (argc >= 3 && !strcmp(argv[1], "load"))
		return cmd_load(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "run"))
		return cmd_run(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "serve"))
		return hosted_serve(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "test"))
		return hosted_tests(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "faults"))
		return hosted_faults(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "bench"))
		return cmd_bench(argc - 2, argv + 2);
	fputs(USAGE, stderr);
	return 2;
}
