"""ixgbe: the Intel 82599 driver (kernel/ktest/ixgbe.c) on the project's QEMU
with the 82599 model (ci/qemu82599; README "Which QEMU"): the kernel names the
8086:10fb function ixgbe0, the driver comes up with the link up, and frames
sent through ixgbe0 come back through a UDP netdev sending to its own address,
every byte checked; bad batches and malformed receive descriptors; the driver
crashed under traffic and replaced by ixgbe_shadow, every buffer accounted
for. A second boot sets the link down (QMP `set_link`) before the guest runs:
the driver logs it and reports link down. Without the model QEMU built, each
test is a SKIP saying so.
"""
import os
import re
import shutil
import tempfile

from harness.qemu import QEMU_82599, TEST_KERNEL, Config, VmError, domain_images, qemu82599

from .common import Failure, ktest_outcomes, tally, test, vm
from .net import MAC, free_udp_port, link_down_boot

TESTS = ("ixgbe_verified_traffic", "ixgbe_crash_under_traffic")
PCI = r"pci: .* 8086:10fb class 02:00:00 rev [0-9a-f]{2} ixgbe0: "
UP = r"\[ixgbe\] ixgbe: ixgbe0: up, mac 52:54:00:12:34:56, rings 128/128, link up$"
# The crash (ktest/net.c strikes a #PF at 0 into the driver): one restart by
# the shadow, and the dead driver's buffers all recalled to the client, none
# freed with it (0 RRefs returned to the heap when it is destroyed).
CRASHED = r"domain: ixgbe \(id (\d+)\) failed: #PF at 0 "
RESTART = r"\[ixgbe_shadow\] shadow Net: restarted ixgbe \(restart 1\), replayed 0 calls$"
LINK_DOWN = ("ixgbe: ixgbe0: link is down (LINKS.LINK_UP clear 1000 ms after start); "
             "reporting link down until it comes up")


# The model's own log (tools/qemu-82599): a register it does not model, read or
# written (once per offset), and a guest error (a bad ring or descriptor); the
# driver must cause neither.
MODEL_LOG = re.compile(r"ixgbe82599: .*")


def ixgbe_args(port, log):
    """An 82599 (8086:10fb, `ixgbe0`) whose frames go to 127.0.0.1:port, where it
    listens; the model's unmodelled-register and guest-error lines go to log."""
    return ["-netdev", f"socket,id=n0,udp=127.0.0.1:{port},localaddr=127.0.0.1:{port}",
            "-device", f"ixgbe82599,netdev=n0,mac={MAC}",
            "-d", "unimp,guest_errors", "-D", log]


def check_model_log(log, v):
    try:
        with open(log, errors="replace") as f:
            lines = [m[0] for m in map(MODEL_LOG.search, f) if m]
    except FileNotFoundError:
        lines = []  # QEMU creates it on the first line only
    if lines:
        raise Failure("the 82599 model logged the driver's accesses: " + "; ".join(lines[:5]),
                      v.tail())


def config(cmdline, extra):
    return Config(firmware="bios", smp=2, cmdline=cmdline, kernel=TEST_KERNEL,
                  modules=domain_images(), extra=extra, qemu=QEMU_82599, nvme=None)


def check_ktests(tmp):
    log = os.path.join(tmp, "model.log")
    with vm("ixgbe/ktests", config("test=" + ",".join(TESTS),
                                   ixgbe_args(free_udp_port(), log))) as v:
        ktest_outcomes("ixgbe/ktests", v, {n: "PASS" for n in TESTS})
        for pattern, what in ((PCI, "the kernel naming the 82599 ixgbe0"),
                              (UP, "`ixgbe: ixgbe0: up` with the MAC, the rings and link up"),
                              (RESTART, "ixgbe_shadow's one restart of ixgbe")):
            if not v.find(pattern):
                raise Failure(f"no line for {what}: /{pattern}/", v.tail())
        crashes = v.find(CRASHED)
        if len(crashes) != 1:
            raise Failure(f"{len(crashes)} lines /{CRASHED}/, want 1", v.tail())
        ident = crashes[0].match[1]
        gone = v.find(rf"domain: ixgbe \(id {ident}\) destroyed, \d+ pages and (\d+) RRefs "
                      "returned$", since=crashes[0].index)
        if not gone or gone[0].match[1] != "0":
            raise Failure(f"the crashed ixgbe (id {ident}): "
                          f"{gone[0].text if gone else 'never destroyed'}; want 0 RRefs freed "
                          "with it (every buffer recalled to the client)", v.tail())
    check_model_log(log, v)


def check_link_down(tmp):
    log = os.path.join(tmp, "model-link-down.log")
    v = link_down_boot("ixgbe/link-down", "ixgbe_link_down", "ixgbe", LINK_DOWN,
                       lambda cmdline, extra: config(cmdline,
                                                     ixgbe_args(free_udp_port(), log) + extra))
    check_model_log(log, v)


def model_missing():
    """Why the QEMU with the 82599 model cannot run here, or None if it can (MAPLE_QEMU
    names another binary: the harness runs that one)."""
    if "MAPLE_QEMU" in os.environ:
        return None
    try:
        path = qemu82599()
    except VmError as e:
        return str(e)
    if not os.access(path, os.X_OK):
        return f"the QEMU with the 82599 model is not built ({path} is missing; ci/setup " \
            "builds it with ci/qemu82599)"
    return None


def run():
    why = model_missing()
    if why:
        tally.skip("ixgbe/ktests", why)
        tally.skip("ixgbe/link-down", why)
        return
    tmp = tempfile.mkdtemp(prefix="maple-ixgbe-")
    try:
        test("ixgbe/ktests", check_ktests, tmp)
        test("ixgbe/link-down", check_link_down, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
