/*
 * The console's `pci`: every PCI function the kernel enumerated, one line
 * each as it logged it at boot, with its grant and Bus Master Enable now.
 */
#include <console/console.h>
#include <dev/pci.h>

static int cmd_pci(struct ctl_reply *r, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (!pci_count())
		ctl_print(r, "no PCI functions");
	for (uint32_t i = 0; i < pci_count(); i++) {
		const struct pci_func *f = pci_get(i);
		char line[256];
		pci_describe(f, line, sizeof line);
		ctl_print(r, "%s; bus master %s", line, pci_master(f) ? "on" : "off");
	}
	return 0;
}

CONSOLE_COMMANDS(console_pci_cmds) = {
	{"pci", "", 0, 0, "PCI functions: address, ids, class, name, BARs, capabilities", cmd_pci},
};
