"""pci: the production kernel enumerates the emulated NVMe controller every
boot gets (one log line per function, the same lines from the console's
`pci`, nvme0 granted to nobody in `domains`); booted without an NVMe disk
(Config(nvme=None), ci/run-vm --no-nvme) there is no nvme0 and the PCI
ktests that need one skip, saying why.
"""
import re

from harness import results
from harness.qemu import TEST_KERNEL, Config, domain_images

from .common import KTEST_IDLE, KTEST_TIMEOUT, Failure, boot_ready, test, vm

FUNC = r"[0-9a-f]{2}:[0-9a-f]{2}\.[0-7] [0-9a-f]{4}:[0-9a-f]{4} class "
LOGGED = re.compile(r"\] pci: (" + FUNC + r".*)$")
# QEMU's nvme device (hw/nvme): 1b36:0010, one 16 KiB 64-bit BAR, MSI-X, PCIe, PM.
NVME0 = re.compile(r"^" + FUNC.replace("[0-9a-f]{4}:[0-9a-f]{4}", "1b36:0010") +
                   r"01:08:02 rev [0-9a-f]{2} nvme0: bar0 mem64 0x[0-9a-f]+ 16 KiB; "
                   r"caps msix pcie pm; bus master (on|off)$")
NEED_NVME = ("pci_nvme0_enumerated", "pci_grant_dma_and_quiesce",
             "pci_quiesce_timeout_keeps_memory", "pci_quiesce_with_memory_decode_off")
SKIP_REASON = "no NVMe controller (booted with ci/run-vm --no-nvme?)"


def lines_of(v, cmd):
    r = v.command(cmd)
    if not r.ok:
        raise Failure(f"`{cmd}` answered {r.status}", v.tail())
    return [s.strip() for s in r.lines]


def check_listed():
    with vm("pci/bios", Config(firmware="bios", smp=2)) as v:
        boot_ready(v, "bios")
        logged = [h.match.group(1) for h in v.find(LOGGED.pattern)]
        listed = lines_of(v, "pci")
        # The console adds the bus-master state the log line (at boot) has not.
        if [s.rsplit("; bus master ", 1)[0] for s in listed] != logged:
            raise Failure(f"`pci` lists {listed}, the boot log {logged}", v.tail())
        nvme = [s for s in listed if NVME0.match(s)]
        if len(nvme) != 1:
            raise Failure(f"`pci` has {len(nvme)} lines for QEMU's NVMe controller as nvme0: "
                          f"{listed}", v.tail())
        devices = [s for s in lines_of(v, "domains") if s.startswith("device nvme0:")]
        if devices != ["device nvme0: granted to nobody"]:
            raise Failure(f"`domains` says {devices}, want nvme0 granted to nobody", v.tail())


def check_no_nvme():
    cfg = Config(firmware="bios", smp=2, cmdline="test=" + ",".join(NEED_NVME),
                 kernel=TEST_KERNEL, modules=domain_images(), nvme=None)
    with vm("pci/no-nvme", cfg) as v:
        v.wait_for(results.KTEST_SUMMARY.pattern, KTEST_TIMEOUT, what="`ktest: summary`",
                   idle=KTEST_IDLE)
        if v.find(r"\] pci: .* nvme0"):
            raise Failure("an nvme0 was enumerated with no NVMe controller attached", v.tail())
        run = results.parse_ktests(v.text())
        got = {name: (outcome, reason) for name, outcome, reason in run.tests}
        want = {name: ("SKIP", SKIP_REASON) for name in NEED_NVME}
        if got != want:
            raise Failure(f"ktests without an NVMe controller: {got}, "
                          f"want each {want[NEED_NVME[0]]}", v.tail())


def run():
    test("pci/listed", check_listed)
    test("pci/no-nvme-skips", check_no_nvme)
