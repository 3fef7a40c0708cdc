"""net: the network drivers (kernel/ktest/net.c) on the distro's QEMU (7.2), and
the same ktests again on QEMU 10.0 (README "Which QEMU"):
nullnet through one crossing and through its shadow; virtio-net on net0
sending frames that come back through the netdev with every byte checked,
bad batches, rogue refused net0; and the driver crashed under traffic,
replaced by its shadow, every buffer accounted for. The NIC's netdev is a
UDP socket sending to its own address, so each frame the guest sends is
received again by the same NIC. A second boot sets the link down (QMP
`set_link`) before the guest runs: the driver says so and serves on.
"""
import json
import re
import os
import shutil
import socket
import tempfile
import time

from harness.qemu import QEMU_10, QEMU_DISTRO, TEST_KERNEL, Config, domain_images

from .common import Failure, ktest_outcomes, test, vm

TESTS = ("net_nullnet_one_crossing", "net_nullnet_through_shadow",
         "net_virtio_verified_traffic", "net_virtio_crash_under_traffic", "net_rref_recall_rules")
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


def check_ktests(qemu=QEMU_DISTRO):
    cfg = Config(firmware="bios", smp=2, cmdline="test=" + ",".join(TESTS),
                 kernel=TEST_KERNEL, modules=domain_images(), extra=net_args(free_udp_port()),
                 qemu=qemu)
    name = "net/ktests" if qemu == QEMU_DISTRO else f"net/ktests-qemu{qemu}"
    with vm(name, cfg) as v:
        ktest_outcomes(name, v, {n: "PASS" for n in TESTS})
        if not v.find(r"virtio_net: net0: up, mac 52:54:00:12:34:56, features 0x100010020, "
                      r"queues 256/256, link up"):
            raise Failure("no `virtio_net: net0: up` line with the features and link", v.tail())


LINK_DOWN = ("virtio_net: net0: link is down (VIRTIO_NET_S_LINK_UP clear 1000 ms after start); "
             "reporting link down until it comes up")


def qmp(path, commands, timeout=60):
    """Connect to QEMU's QMP socket at path (retrying until it exists) and run
    each command in turn; a command that returns no `return` is a Failure."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            break
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise Failure(f"QMP socket {path} never answered") from None
            time.sleep(0.1)
    with s, s.makefile("rwb") as f:
        f.readline()  # the greeting
        for cmd in [{"execute": "qmp_capabilities"}] + commands:
            f.write(json.dumps(cmd).encode() + b"\n")
            f.flush()
            while True:
                line = f.readline()
                if not line:
                    raise Failure(f"QMP closed during {cmd}")
                reply = json.loads(line)
                if "return" in reply:
                    break
                if "error" in reply:
                    raise Failure(f"QMP {cmd} answered {reply['error']}")


def link_down_boot(name, test_name, driver, line, config):
    """One boot that starts paused, has QMP take the NIC's netdev n0 down before the guest
    runs, and then runs ktest test_name, which must pass; the driver must log `line`.
    config(cmdline, extra) makes the boot's Config with the QMP arguments in extra. Returns
    the finished Vm."""
    tmp = tempfile.mkdtemp(prefix="maple-link-down-")
    try:
        sock = os.path.join(tmp, "qmp.sock")
        cfg = config(f"test={test_name}", ["-qmp", f"unix:{sock},server=on,wait=off", "-S"])
        with vm(name, cfg) as v:
            qmp(sock, [{"execute": "set_link", "arguments": {"name": "n0", "up": False}},
                       {"execute": "cont"}])
            ktest_outcomes(name, v, {test_name: "PASS"})
            if not v.find(rf"\[{driver}\] " + re.escape(line) + "$"):
                raise Failure(f"no line `{line}`", v.tail())
        return v
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_link_down():
    link_down_boot("net/link-down", "net_virtio_link_down", "virtio_net", LINK_DOWN,
                   lambda cmdline, extra: Config(firmware="bios", smp=2, cmdline=cmdline,
                                                 kernel=TEST_KERNEL, modules=domain_images(),
                                                 extra=net_args(free_udp_port()) + extra))


def run():
    test("net/ktests", check_ktests)
    test(f"net/ktests-qemu{QEMU_10}", check_ktests, QEMU_10)
    test("net/link-down", check_link_down)
