/*
 * Picking the in-guest benchmark from the command line (`bench=xcall`,
 * `bench=recovery`); each runs in its own thread and powers off when done.
 */
#include <core/bench.h>
#include <core/log.h>
#include <core/sched.h>
#include <maple/cmdline.h>
#include <maple/string.h>
#include <stddef.h>

static const struct {
	const char *name;
	void (*thread)(void *);
} benchmarks[] = {
	{"xcall", bench_xcall_thread},
	{"recovery", bench_recovery_thread},
};

bool bench_run_from_cmdline(const char *cmdline)
{
	char which[16];
	if (!cmdline_get(cmdline, "bench", which, sizeof which))
		return false;
	for (unsigned i = 0; i < sizeof benchmarks / sizeof benchmarks[0]; i++) {
		if (strcmp(which, benchmarks[i].name))
			continue;
		if (!thread_create("bench", benchmarks[i].thread, NULL))
			klog("bench: cannot create the benchmark thread");
		return true;
	}
	klog("bench: unknown benchmark '%s' (known: xcall, recovery)", which);
	return false;
}
