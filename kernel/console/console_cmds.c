/*
 * The production kernel's control console commands. Each writes data lines
 * with ctl_print and returns 0 (OK) or ctl_fail(...) (ERR); `help` is built
 * into ctl.c. The test image adds `call`, `panic-test`, `sleep` and `flow`
 * (console/console_test.c).
 */
#include <arch/x86/percpu.h>
#include <console/console.h>
#include <core/sched.h>
#include <core/time.h>
#include <mm/frame.h>
#include <mm/kmalloc.h>
#include <mm/kstack.h>
#include <platform/pc/power.h>

#define MAX_LISTED_THREADS 64

static int cmd_mem(struct ctl_reply *r, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	struct frame_stats fs;
	struct kmalloc_stats ks;
	frame_get_stats(&fs);
	kmalloc_get_stats(&ks);
	uint64_t used = fs.managed - fs.free;
	ctl_print(r, "frames: %lu managed, %lu free, %lu in use (%lu MiB of %lu MiB)", fs.managed,
		  fs.free, used, used * FRAME_SIZE >> 20, fs.managed * FRAME_SIZE >> 20);
	ctl_print(r, "frame calls: %lu allocs, %lu frees, %lu failed", fs.allocs, fs.frees,
		  fs.failures);
	ctl_print(r, "kernel heap: %lu bytes in use, %lu frames, %lu allocs, %lu frees",
		  ks.bytes_in_use, ks.frames, ks.allocs, ks.frees);
	ctl_print(r, "kernel stacks cached for reuse: %lu", kstack_cached());
	return 0;
}

static int cmd_threads(struct ctl_reply *r, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	static struct thread_info info[MAX_LISTED_THREADS]; /* only the console thread runs this */
	int n = sched_snapshot(info, MAX_LISTED_THREADS);
	ctl_print(r, "%4s %-16s %-9s %3s %12s %10s", "id", "name", "state", "cpu", "runtime_us",
		  "switches");
	for (int i = n - 1; i >= 0; i--) /* oldest first */
		ctl_print(r, "%4u %-16s %-9s %3u %12lu %10lu", info[i].id, info[i].name,
			  thread_state_name(info[i].state), info[i].cpu, info[i].runtime_ns / 1000,
			  info[i].switches);
	return 0;
}

static int cmd_uptime(struct ctl_reply *r, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	uint64_t ns = time_ns();
	ctl_print(r, "up %lu.%03lu s, %u CPUs online", ns / 1000000000, ns / 1000000 % 1000,
		  ncpus_online);
	for (uint32_t i = 0; i < MAX_CPUS; i++)
		if (cpus[i].online)
			ctl_print(r, "cpu %u: %lu ticks, %lu context switches", i, cpus[i].ticks,
				  cpus[i].context_switches);
	return 0;
}

static int cmd_shutdown(struct ctl_reply *r, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	/* The reply must reach the host before the machine goes away. */
	ctl_reply_ok(r);
	power_off();
}

CONSOLE_COMMANDS(console_cmds) = {
	{"mem", "", 0, 0, "physical frames and kernel heap usage", cmd_mem},
	{"threads", "", 0, 0, "kernel threads with state, CPU and run time", cmd_threads},
	{"uptime", "", 0, 0, "time since boot and per-CPU tick counts", cmd_uptime},
	{"shutdown", "", 0, 0, "power the machine off", cmd_shutdown},
	{"domains", "", 0, 0, "isolation domains: state, key, memory, calls, failures",
	 cmd_domains},
	{"create", "IMAGE", 1, 1, "create a domain from a boot module", cmd_create},
	{"destroy", "DOMAIN", 1, 1, "destroy a domain and reclaim its memory", cmd_destroy},
	{"kill", "DOMAIN", 1, 1, "fail a domain now; callers inside it get an error", cmd_kill},
	{"inject", "DOMAIN FAULT", 2, 2, "make a domain take a CPU fault (pf gp ud de pk)",
	 cmd_inject},
};
