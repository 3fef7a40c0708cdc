"""ixgbe_model: the 82599 model (tools/qemu-82599, in the QEMU ci/qemu82599 builds)
driven by a driver nobody here wrote: the Linux guest's ixgbe.ko probes two
model NICs on one QEMU hub, reports 10 Gb/s link up on both, and pktgen sends a
fixed count of frames out of eth0 that eth1 receives, every count equal (pktgen's,
eth0's TX and eth1's RX). A second boot checks that the model logs a register it
does not model once per offset under `-d unimp`; a third sets eth1's netdev link down
(QMP `set_link`) before the guest runs, and the driver sees no carrier on it (LINKS
follows the netdev). No boot attaches NVMe.
"""
import os
import re
import shutil
import tempfile

from harness import linuxguest as lg
from harness.qemu import QEMU_82599, Config

from .common import Failure, progress, test, vm
from .net import qmp

MACS = ("02:00:00:00:00:01", "02:00:00:00:00:02")  # eth1's is the pktgen dst_mac of the init
COUNT = 2000
# Two 82599s on hub 0: what eth0 sends, eth1 receives (and the reverse).
NET = ["-netdev", "hubport,id=n0,hubid=0", "-netdev", "hubport,id=n1,hubid=0",
       "-device", f"ixgbe82599,netdev=n0,mac={MACS[0]}",
       "-device", f"ixgbe82599,netdev=n1,mac={MACS[1]}"]
COUNTERS = re.compile(r"bench: linux counters tx=eth0:(\d+) rx=eth1:(\d+)")


def boot(extra, cmdline):
    """The ixgbe flavour of the Linux guest on the model's QEMU: (kernel release, Config)."""
    guest = lg.build(progress=lambda s: progress(f"linux guest: {s}"), flavour=lg.IXGBE)
    release = lg.manifest(guest)["kernel"]["release"]
    cfg = Config(firmware="bios", smp=2, extra=NET + extra, cmdline=cmdline,
                 kernel=os.path.join(guest, "vmlinuz"), modules=[os.path.join(guest, "initrd.img")],
                 qemu=QEMU_82599, nvme=None)
    return release, cfg


def check_linux_traffic():
    release, cfg = boot([], lg.pktgen_cmdline(
        [(60, 0)], 300, f"pktgen_count={COUNT} pktgen_rx=eth1 loglevel=7"))
    with vm("ixgbe_model/linux", cfg) as v:
        v.wait_for(lg.DONE, 240, what="`bench: linux done`", idle=120)
        v.wait_exit(30)
        lines, tail = v.text(), v.tail(40)
    got = lg.parse_pktgen(lines)
    if not (got["ready"] and got["ready"][0] == release):
        raise Failure(f"ready line {got['ready']}, expected kernel {release}", tail)
    # Linux's ixgbe_probe names each device and its MAC (read from RAL0/RAH0).
    for i, mac in enumerate(MACS):
        for want in (r"ixgbe (\S+): Intel\(R\) 10 Gigabit Network Connection$",
                     r"ixgbe (\S+): " + re.escape(mac) + "$",
                     rf"ixgbe (\S+) eth{i}: NIC Link is Up 10 Gbps, Flow Control: RX/TX$"):
            hits = [ln for ln in lines if re.search(want, ln)]
            if not hits:
                raise Failure(f"eth{i}: no line matching `{want}`", tail)
    if got["errors"] or len(got["results"]) != 1:
        raise Failure(f"pktgen: results {got['results']}, errors {got['errors']}", tail)
    size, clone, pkts, _ = got["results"][0]
    m = [COUNTERS.search(ln) for ln in lines]
    m = [x for x in m if x]
    if (size, clone, pkts) != (60, 0, COUNT) or len(m) != 1:
        raise Failure(f"pktgen sent {pkts} of {size} bytes (clone {clone}), counters lines "
                      f"{[x[0] for x in m]}: want {COUNT} of 60 and one counters line", tail)
    tx, rx = int(m[0][1]), int(m[0][2])
    if (tx, rx) != (COUNT, COUNT):
        raise Failure(f"eth0 sent {tx}, eth1 received {rx}: want {COUNT} each "
                      "(pktgen's own count)", tail)
    progress(f"ixgbe.ko: {pkts} frames out of eth0, {rx} into eth1 through the model")


def check_unimp_log():
    """Linux's ixgbe writes registers the model keeps as storage only: each is named
    once, the first time, in QEMU's log (-d unimp -D FILE)."""
    tmp = tempfile.mkdtemp(prefix="maple-ixgbe-model-")
    try:
        log = os.path.join(tmp, "qemu.log")
        _, cfg = boot(["-d", "unimp", "-D", log],
                            lg.pktgen_cmdline([(60, 0)], 100, "pktgen_count=10"))
        with vm("ixgbe_model/unimp", cfg) as v:
            v.wait_for(lg.DONE, 240, what="`bench: linux done`", idle=120)
            v.wait_exit(30)
        with open(log, errors="replace") as f:
            text = f.read()
        found = re.findall(r"ixgbe82599: (read|write) of unmodelled register (0x[0-9a-f]{5})", text)
        if not found:
            raise Failure(f"{log}: no `ixgbe82599: ... unmodelled register` line", text[-2000:])
        # Two devices: each offset at most once per device and direction.
        counts = {}
        for k in found:
            counts[k] = counts.get(k, 0) + 1
        over = {k: n for k, n in counts.items() if n > 2}
        if over:
            raise Failure(f"logged more than once per device: {over}")
        progress(f"{len(counts)} unmodelled register accesses logged, e.g. "
                 f"{found[0][0]} {found[0][1]}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_link_down():
    tmp = tempfile.mkdtemp(prefix="maple-ixgbe-model-")
    try:
        sock = os.path.join(tmp, "qmp.sock")
        _, cfg = boot(["-qmp", f"unix:{sock},server=on,wait=off", "-S"], lg.pktgen_cmdline(
            [(60, 0)], 100, "pktgen_count=10 pktgen_rx=eth1 loglevel=7"))
        with vm("ixgbe_model/link-down", cfg) as v:
            qmp(sock, [{"execute": "set_link", "arguments": {"name": "n1", "up": False}},
                       {"execute": "cont"}])
            v.wait_for(lg.DONE, 240, what="`bench: linux done`", idle=120)
            v.wait_exit(30)
            lines, tail = v.text(), v.tail(40)
        want = "bench: linux failed: eth1 has no carrier 10 s after link up"
        if want not in lines:
            raise Failure(f"no line `{want}`", tail)
        if not any(re.search(r"ixgbe \S+ eth0: NIC Link is Up 10 Gbps", ln) for ln in lines):
            raise Failure("eth0 (link up) did not report its link", tail)
        if any(re.search(r"ixgbe \S+ eth1: NIC Link is Up", ln) for ln in lines):
            raise Failure("eth1 reported link up with its netdev's link down", tail)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run():
    test("ixgbe_model/linux-traffic", check_linux_traffic)
    test("ixgbe_model/unimp-log", check_unimp_log)
    test("ixgbe_model/link-down", check_link_down)
