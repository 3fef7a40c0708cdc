/*
 * rogue's attacks on PCI functions and DMA memory (test/rogue/pci_cases.h,
 * 120-139): map a BAR of, or start bus mastering on, a function granted to
 * another domain; ask the bus address of memory that is not its own DMA
 * memory. The raw syscalls, so the tests see the kernel's exact answer
 * rather than the SDK's summary of it.
 */
#include <lib/string.h>
#include <sdk/dom.h>
#include <sdk/syscall.h>
#include <test/rogue/cases.h>
#include <test/rogue/pci_cases.h>

static uint64_t heap_word;

static long on_function(long nr, const char *name, long arg)
{
	return syscall3(nr, (long)name, (long)strlen(name), arg);
}

long rogue_pci_case(long number, unsigned long target)
{
	dom_printf("rogue: pci case %ld, target 0x%lx", number, target);
	switch (number) {
	case ROGUE_PCI_MAP_BAR:
		return on_function(SYS_DEVICE_BAR, "nvme0", 0);
	case ROGUE_PCI_BUSMASTER:
		return on_function(SYS_DEVICE_BUSMASTER, "nvme0", 1);
	case ROGUE_PCI_DMA_BUS:
		return syscall1(SYS_DMA_BUS, target ? (long)target : (long)ROGUE_KERNEL_VA);
	case ROGUE_PCI_DMA_BUS_HEAP:
		return syscall1(SYS_DMA_BUS, (long)&heap_word);
	case ROGUE_PCI_MAP_BAR6:
		return on_function(SYS_DEVICE_BAR, "nvme0", 6);
	case ROGUE_PCI_NO_SUCH:
		return on_function(SYS_DEVICE_BAR, "nvme9", 0);
	case ROGUE_PCI_NET_BAR:
		return on_function(SYS_DEVICE_BAR, "net0", 4);
	case ROGUE_PCI_NET_CONFIG:
		return on_function(SYS_DEVICE_CONFIG, "net0", 0);
	}
	return -MAPLE_EINVAL;
}
