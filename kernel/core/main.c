/*
 * kmain: bring the kernel up in dependency order, then hand the boot CPU to
 * the scheduler. The boot stub (arch/pc/boot.S) calls it on the boot page
 * tables with interrupts off.
 */
#include <arch/pc/gdt.h>
#include <arch/pc/percpu.h>
#include <core/boot.h>
#include <core/log.h>
#include <core/time.h>
#include <maple/bootinfo.h>

void kmain(uint64_t kind, uint64_t arg, uint64_t magic);

void kmain(uint64_t kind, uint64_t arg, uint64_t magic)
{
	percpu_init(0, 0);
	log_init();
	/* traps (arch/pc/gdt.c): GDT, TSS, IDT, CPU features; needs the boot identity map */
	cpu_tables_init(&cpus[0]);
	boot_intake(kind, arg, magic);
	klog("maple: booting via %s, command line \"%s\"",
	     boot_info.firmware == BOOTINFO_FW_UEFI ? "UEFI" : "multiboot (BIOS)",
	     boot_info.cmdline);
	time_init();
	klog("maple: ready");
	for (;;)
		__asm__ volatile("hlt");
}
