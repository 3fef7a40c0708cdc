/*
 * Boot runners: work a command-line key starts once the kernel is up
 * (`test=` runs the ktests, `bench=` a benchmark). Only the test kernel
 * image (kernel/test-sources) registers any, each with BOOT_RUNNER; the
 * linker gathers them into one table (kernel.ld, .boot_runners), which is
 * empty in the production image. So the production kernel holds no
 * reference to test code, and no #ifdef decides what an image contains: its
 * source list does.
 */
#ifndef CORE_BOOT_RUNNER_H
#define CORE_BOOT_RUNNER_H

struct boot_runner {
	const char *key; /* the command-line key, without '=' */
	/* Called once, in the boot thread, when the command line holds key=...;
	 * it starts its own thread and returns. */
	void (*start)(const char *cmdline);
};

/* Explicit alignment: GCC would otherwise be free to pad between the
 * entries that different files put into the one table. */
#define BOOT_RUNNER(name, rkey, fn)                                                                \
	static const struct boot_runner boot_runner_##name                                         \
		__attribute__((used, section(".boot_runners"), aligned(8))) = {rkey, fn}

/*
 * Start the runner of each key on the command line. A key that only a test
 * image acts on (test=, bench=) with no runner in this image gets one log
 * line saying so, so that a test run booted on the production kernel fails
 * loudly instead of booting quietly to `maple: ready`.
 */
void boot_runners_start(const char *cmdline);

#endif
