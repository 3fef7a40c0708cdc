/*
 * trap_selftest_panic, behind the test image's console command `panic-test`
 * (console/console_test.c; listed in kernel/test-sources): a #UD two
 * calls deep, so the report shows a backtrace of several symbolized frames.
 * Every function keeps a frame record of its own: none is inlined, none is
 * noreturn (GCC gives those no frame), and no call is a tail call.
 */
#include <arch/x86/traps.h>
#include <core/panic.h>

static __attribute__((noinline)) void trap_selftest_ud2(void)
{
	__asm__ volatile("ud2");
}

static __attribute__((noinline)) void trap_selftest_middle(void)
{
	trap_selftest_ud2();
	__asm__ volatile(""); /* keeps the call out of tail position */
}

void trap_selftest_panic(void)
{
	trap_selftest_middle();
	panic("trap_selftest_panic: the kernel went on after a #UD");
}
