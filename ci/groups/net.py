"""net: the network drivers (kernel/ktest/net.c) on the distro's QEMU (7.2):
nullnet through one crossing and through its shadow; virtio-net on net0
sending frames that come back through the netdev with every byte checked,
bad batches, rogue refused net0; and the driver crashed under traffic,
replaced by its shadow, every buffer accounted for. The NIC's netdev is a
UDP socket sending to its own address, so each frame the guest sends is
received again by the same NIC.
"""
import socket

from harness import results
from harness.qemu import TEST_KERNEL, Config, domain_images

from .common import KTEST_IDLE, KTEST_TIMEOUT, Failure, check_ktest_run, test, vm

TESTS = ("net_nullnet_one_crossing", "net_nullnet_through_shadow",
         "net_virtio_verified_traffic", "net_virtio_crash_under_traffic")
MAC = "52:54:00:12:34:56"  # kernel/ktest/net.c expects it


def free_udp_port():
    """A UDP port on 127.0.0.1 nothing holds now, for the loopback netdev."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def net_args(port):
    """A modern virtio-net function (1af4:1041, `net0`) whose frames go to
    127.0.0.1:port, which is where it listens: a loopback."""
    return ["-netdev", f"socket,id=n0,udp=127.0.0.1:{port},localaddr=127.0.0.1:{port}",
            "-device", f"virtio-net-pci,netdev=n0,disable-legacy=on,mac={MAC}"]


def check_ktests():
    cfg = Config(firmware="bios", smp=2, cmdline="test=" + ",".join(TESTS),
                 kernel=TEST_KERNEL, modules=domain_images(), extra=net_args(free_udp_port()))
    with vm("net/ktests", cfg) as v:
        v.wait_for(results.KTEST_SUMMARY.pattern, KTEST_TIMEOUT, what="`ktest: summary`",
                   idle=KTEST_IDLE)
        run = check_ktest_run("net/ktests", v)
        got = {name: outcome for name, outcome, _ in run.tests}
        want = {name: "PASS" for name in TESTS}
        if got != want:
            raise Failure(f"network ktests: {got}, want {want}", v.tail())
        if not v.find(r"virtio_net: net0: up, mac 52:54:00:12:34:56, features 0x100010020, "
                      r"queues 256/256, link up"):
            raise Failure("no `virtio_net: net0: up` line with the features and link", v.tail())


def run():
    test("net/ktests", check_ktests)
