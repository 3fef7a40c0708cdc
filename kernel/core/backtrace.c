/*
 * Backtraces. The kernel is built with frame pointers, so each frame starts
 * with (saved rbp, return address). The walk only follows frames that look
 * sane (kernel half, aligned, moving up the stack by less than a stack's
 * size), so a corrupt chain ends the trace instead of faulting inside it.
 */
#include <core/backtrace.h>
#include <core/ksyms.h>
#include <core/log.h>

#define BACKTRACE_MAX_FRAMES 32
#define FRAME_MAX_STEP	     (64 * 1024)
#define KERNEL_HALF	     0xffff800000000000UL

static void print_frame(int n, uint64_t addr)
{
	uint64_t off;
	const char *name = ksyms_lookup(addr, &off);
	if (name)
		kprintf("  #%d 0x%016lx %s+0x%lx\n", n, addr, name, off);
	else
		kprintf("  #%d 0x%016lx ?\n", n, addr);
}

void backtrace_print(uint64_t rip, uint64_t rbp)
{
	kprintf("backtrace:\n");
	print_frame(0, rip);
	for (int n = 1; n < BACKTRACE_MAX_FRAMES; n++) {
		if (rbp < KERNEL_HALF || (rbp & 7))
			return;
		const uint64_t *frame = (const uint64_t *)rbp;
		uint64_t next = frame[0], ret = frame[1];
		if (!ret)
			return;
		/* Symbolize the call instruction, not the instruction after it. */
		print_frame(n, ret - 1);
		if (next <= rbp || next - rbp > FRAME_MAX_STEP)
			return;
		rbp = next;
	}
}
