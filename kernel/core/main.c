/*
 * kmain: bring the kernel up in dependency order, then let the boot CPU's
 * thread finish. The boot stub (arch/x86/boot.S) calls it on the boot page
 * tables (low 4 GiB identity-mapped and at DIRECT_MAP_BASE), interrupts off.
 */
#include <arch/x86/cpu.h>
#include <arch/x86/gdt.h>
#include <arch/x86/lapic.h>
#include <arch/x86/percpu.h>
#include <arch/x86/tlb.h>
#include <arch/x86/usermode.h>
#include <console/console.h>
#include <core/boot.h>
#include <core/boot_runner.h>
#include <core/log.h>
#include <core/panic.h>
#include <core/sched.h>
#include <core/smp.h>
#include <core/time.h>
#include <dev/pci.h>
#include <domain/domain.h>
#include <domain/gate.h>
#include <domain/watchdog.h>
#include <lib/cmdline.h>
#include <lib/string.h>
#include <mm/frame.h>
#include <mm/vm.h>
#include <platform/pc/acpi.h>
#include <platform/pc/ioapic.h>
#include <xheap/rref.h>

void kmain(uint64_t kind, uint64_t arg, uint64_t magic);

static void memory_init(void)
{
	if (frame_init(&boot_info, DIRECT_MAP_BASE) < 0)
		panic("mm: the boot memory map has no usable memory");
	paging_init();
	/* ACPI tables were copied by acpi_init; their memory is free now. */
	uint64_t released = 0;
	for (uint32_t i = 0; i < boot_info.mem_count; i++)
		if (boot_info.mem[i].type == BOOTINFO_MEM_ACPI_RECLAIM)
			released +=
				frame_release_range(boot_info.mem[i].base, boot_info.mem[i].length);
	struct frame_stats fs;
	frame_get_stats(&fs);
	klog("mm: %lu MiB managed, %lu MiB free (%lu KiB of ACPI tables reclaimed)",
	     fs.managed * FRAME_SIZE >> 20, fs.free * FRAME_SIZE >> 20,
	     released * FRAME_SIZE >> 10);
}

/*
 * `domains=a,b` on the command line: the domains init starts at boot. A
 * list with an empty item (`domains=,`, `a,,b`) is a typo whose intent is
 * unknown, so it starts none of them rather than a guess.
 */
static void start_boot_domains(void)
{
	char list[BOOTINFO_CMDLINE_MAX], err[128];
	if (!cmdline_get(boot_info.cmdline, "domains", list, sizeof list))
		return;
	unsigned empty = cmdline_list_empty_item(list);
	if (empty) {
		klog("init: domains=%s: item %u is an empty module name; no domain started", list,
		     empty);
		return;
	}
	for (char *name = list, *next; name; name = next) {
		next = strchr(name, ',');
		if (next)
			*next++ = '\0';
		if (!domain_create(name, err, sizeof err))
			klog("init: domain %s did not start: %s", name, err);
	}
}

void kmain(uint64_t kind, uint64_t arg, uint64_t magic)
{
	percpu_init(0, 0);
	log_init();
	cpu_tables_init(&cpus[0]); /* before the boot identity map goes */
	boot_intake(kind, arg, magic);
	klog("maple: booting via %s, command line \"%s\"",
	     boot_info.firmware == BOOTINFO_FW_UEFI ? "UEFI" : "multiboot (BIOS)",
	     boot_info.cmdline);
	time_init();
	acpi_init(); /* reads the tables through the boot map */
	memory_init();
	lapic_init();
	ioapic_init();
	pci_init();
	sched_init();
	tlb_init();
	usermode_init_cpu();
	gate_init();
	watchdog_init();
	rref_init();
	domain_init();
	lapic_timer_start();
	smp_init();
	irq_enable();
	console_init();
	start_boot_domains();
	klog("maple: ready");
	boot_runners_start(boot_info.cmdline); /* test=, bench=: the test image's */
	thread_exit();
}
