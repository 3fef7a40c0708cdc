"""igb: the Intel 82576 driver (kernel/ktest/igb.c) on QEMU 10.0 (the distro's
7.2 has no `igb` model; README "Which QEMU"): frames sent through igb0 come
back through a UDP netdev sending to its own address, every byte checked;
bad batches and malformed receive descriptors; the driver crashed under
traffic and replaced by igb_shadow, every buffer accounted for. A second
boot sets the link down (QMP `set_link`) before the guest runs: the driver
logs it and reports link down. Neither boot attaches the NVMe disk: igb needs
none, and so the group never waits for another run's lock on it.
"""

from harness.qemu import QEMU_10, TEST_KERNEL, Config, domain_images

from .common import Failure, ktest_outcomes, test, vm
from .net import MAC, free_udp_port, link_down_boot

TESTS = ("igb_verified_traffic", "igb_crash_under_traffic")
UP = r"\[igb\] igb: igb0: up, mac 52:54:00:12:34:56, rings 128/128, link (up|down)$"
LINK_DOWN = ("igb: igb0: link is down (STATUS.LU clear 1000 ms after start); "
             "reporting link down until it comes up")


def igb_args(port):
    """An 82576 (8086:10c9, `igb0`) whose frames go to 127.0.0.1:port, where it listens."""
    return ["-netdev", f"socket,id=n0,udp=127.0.0.1:{port},localaddr=127.0.0.1:{port}",
            "-device", f"igb,netdev=n0,mac={MAC}"]


def check_ktests():
    cfg = Config(firmware="bios", smp=2, cmdline="test=" + ",".join(TESTS), kernel=TEST_KERNEL,
                 modules=domain_images(), extra=igb_args(free_udp_port()), qemu=QEMU_10,
                 nvme=None)
    with vm("igb/ktests", cfg) as v:
        ktest_outcomes("igb/ktests", v, {n: "PASS" for n in TESTS})
        if not v.find(UP):
            raise Failure("no `igb: igb0: up` line with the MAC and rings", v.tail())
        if not v.find(r"pci: .* 8086:10c9 class 02:00:00 rev [0-9a-f]{2} igb0: "):
            raise Failure("the kernel did not name the 82576 igb0", v.tail())


def check_link_down():
    link_down_boot("igb/link-down", "igb_link_down", "igb", LINK_DOWN,
                   lambda cmdline, extra: Config(firmware="bios", smp=2, cmdline=cmdline,
                                                 kernel=TEST_KERNEL, modules=domain_images(),
                                                 extra=igb_args(free_udp_port()) + extra,
                                                 qemu=QEMU_10, nvme=None))


def run():
    test("igb/ktests", check_ktests)
    test("igb/link-down", check_link_down)
