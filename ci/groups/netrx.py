"""netrx: Maple's receive path fed by a source nobody here wrote. The Linux baseline guest
(Debian's cloud kernel, its virtio-net driver, QEMU 7.2) runs pktgen as a packet source
(bench/linux-guest/init, pktgen_send) into a TCP socket netdev (`-netdev
socket,connect=`) whose other end is Maple's NIC (`listen=`), in a second QEMU process:
FRAMES frames stepping through every size from 60 to 1514 bytes, UDP checksum set, no
timestamp. Maple's ktest (kernel/ktest/net.c, netclient's receive()) checks every byte of
each against pktgen's recipe and the sequence numbers 1 to FRAMES, and that a flip of any
one byte of a received frame is refused. Two pairs of boots: Maple's virtio-net on QEMU
7.2, then virtio-net and igb together on QEMU 10.0, where a Linux boot feeds each NIC in
turn once its ktest receives (three Maple and Linux boots in all, about 15 s a pair). virtio-net: exactly FRAMES sent, received and
verified, 0 corrupt, 0 lost, 0 out of order (a stream netdev drops nothing: a virtio NIC
with no buffer makes QEMU hold the frame and stop reading the socket, TCP stops the
sender, and Linux's pktgen sends again what its driver could not queue). igb: QEMU's
model drops a frame that finds queue 0 without a free descriptor (the RXO cause), and the
socket netdev hands it every frame of one read of the socket at once, so frames can be
lost; pktgen is paced (IGB_DELAY_NS) to lose few, and the test asserts that every frame
that came was verified, none twice or out of order, and that those received and those
lost add up to FRAMES.
"""
import os
import re
import socket

from harness import linuxguest as lg
from harness import results
from harness.qemu import QEMU_10, QEMU_DISTRO, TEST_KERNEL, Config, domain_images

from .common import KTEST_TIMEOUT, Failure, check_ktest_run, progress, test, vm
from .net import MAC

FRAMES = 1000  # kernel/ktest/net_nic.h NET_RX_PKTGEN_FRAMES
LINUX_MAC = "52:54:00:12:34:57"  # NET_RX_PKTGEN_SRC_MAC; every Linux NIC has it
SIZES = (60, 1514)  # pktgen's min_pkt_size and max_pkt_size: every frame size in between
IGB_DELAY_NS = 500000  # pktgen's pace toward igb: 2000 frames/s at most
# Maple's NICs in device order: (ktest, Maple's -device for netdev n{i}, its driver's name,
# pktgen's delay between frames in ns, whether its model may drop frames).
VIRTIO = ("net_virtio_rx_from_pktgen", f"virtio-net-pci,disable-legacy=on,mac={MAC}",
          "virtio_net", 0, False)
IGB = ("igb_rx_from_pktgen", f"igb,mac={MAC}", "igb", IGB_DELAY_NS, True)
LINUX_TIMEOUT = 300  # the guest's boot and FRAMES frames a NIC, under TCG on a loaded host
SILENT = 120  # Maple prints a line every 10 s while it waits (RX_PROGRESS_NS)


def free_tcp_port():
    """A TCP port on 127.0.0.1 nothing holds now, for Maple's QEMU to listen on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def result_line(driver, lossy):
    """The ktest's summary line of a driver (a pattern): every frame verified; where the
    model may drop frames, as many verified as received and the rest lost."""
    if not lossy:
        return re.escape(f"netrx: {driver}: received={FRAMES} verified={FRAMES} corrupt=0 "
                         f"lost=0 reordered=0 last_seq={FRAMES}") + "$"
    return (rf"netrx: {driver}: received=(\d+) verified=\1 corrupt=0 lost=(\d+) reordered=0 "
            r"last_seq=(\d+)$")


def linux_sends(name, guest, port, delay):
    """Boot the Linux guest with one virtio-net NIC connected to Maple's port and have its
    pktgen send FRAMES frames there; (packets, us) from pktgen's Result line."""
    cfg = Config(firmware="bios", smp=2, nvme=None,
                 extra=["-netdev", f"socket,id=n0,connect=127.0.0.1:{port}", "-device",
                        f"virtio-net-pci,netdev=n0,disable-legacy=on,mac={LINUX_MAC}"],
                 # ipv6.disable=1: nothing but pktgen's frames leaves Linux (no router
                 # solicitation, no duplicate address detection), so any other frame Maple
                 # sees counts as corrupt.
                 cmdline=lg.send_cmdline([("eth0", FRAMES, *SIZES, delay)], MAC,
                                         "ipv6.disable=1"),
                 kernel=os.path.join(guest, "vmlinuz"),
                 modules=[os.path.join(guest, "initrd.img")])
    with vm(name, cfg) as linux:
        linux.wait_for(lg.DONE, LINUX_TIMEOUT, what="`bench: linux done`", idle=SILENT)
        got = lg.parse_send(linux.text())
        linux.wait_exit(30)
    if got["errors"]:
        raise Failure(f"the Linux guest: {'; '.join(got['errors'])}", linux.tail())
    sent = got["sent"].get("eth0")
    if not sent or sent[1] != FRAMES or sent[3] != 0:
        raise Failure(f"pktgen sent {got['sent']} (count, packets, us, errors); want "
                      f"{FRAMES} packets and 0 errors on eth0", linux.tail())
    return sent[1], sent[2]


def check_pair(name, qemu, nics):
    """Boot Maple on qemu with nics, each listening on a port of its own; as each of its
    ktests starts receiving, boot the Linux guest connected to that NIC's port to send
    FRAMES frames into it (a frame sent before a driver is up could find no buffer)."""
    guest = lg.build(progress=lambda s: progress(f"linux guest: {s}"))
    ports = [free_tcp_port() for _ in nics]
    maple_net = []
    for i, ((_, device, _, _, _), port) in enumerate(zip(nics, ports)):
        maple_net += ["-netdev", f"socket,id=n{i},listen=127.0.0.1:{port}",
                      "-device", f"{device},netdev=n{i}"]
    maple_cfg = Config(firmware="bios", smp=2, kernel=TEST_KERNEL, modules=domain_images(),
                       cmdline="test=" + ",".join(n[0] for n in nics), extra=maple_net,
                       qemu=qemu, nvme=None)
    sent = []
    with vm(f"{name}/maple", maple_cfg) as maple:
        for (_, _, driver, delay, _), port in zip(nics, ports):
            maple.wait_for(rf"netrx: {driver}: receiving {FRAMES} frames", 180,
                           what=f"Maple's {driver} receiving", idle=SILENT,
                           fail=r"ktest: (FAIL|SKIP) ")
            sent.append(linux_sends(f"{name}/linux-{driver}", guest, port, delay))
        maple.wait_for(results.KTEST_SUMMARY.pattern, KTEST_TIMEOUT, what="`ktest: summary`",
                       idle=SILENT)
        run = check_ktest_run(name, maple)
        outcomes = {n: o for n, o, _ in run.tests}
        if outcomes != {n[0]: "PASS" for n in nics}:
            raise Failure(f"receive ktests: {outcomes}", maple.tail())
        for (_, _, driver, delay, lossy), (pkts, usec) in zip(nics, sent):
            hits = maple.find(result_line(driver, lossy))
            if not hits:
                raise Failure(f"no line matching `{result_line(driver, lossy)}`", maple.tail())
            m = hits[0].match
            if lossy and int(m[1]) + int(m[2]) != FRAMES:
                raise Failure(f"{driver}: {m[1]} received and {m[2]} lost: not {FRAMES}")
            progress(f"{name}: {driver}: pktgen sent {pkts} frames in {usec / 1e6:.2f} s "
                     f"({'paced ' + str(delay) + ' ns apart' if delay else 'unpaced'}); Maple "
                     f"verified {m[1] if lossy else FRAMES}")


def check_send_parse():
    """The exact parse of the Linux guest's pktgen_send lines and the command line asking
    for them (ci/harness/linuxguest.py)."""
    lines = ["bench: linux ready kernel=6.1.0-57-cloud-amd64 uptime=3.95",
             "bench: linux pktgen send dev=eth0 count=1000 pkts=1000 usec=70312 errors=0",
             "bench: linux pktgen send dev=eth1 failed: pktgen refused 'dst_mac x'",
             "bench: linux pktgen send dev= failed: want DEV:COUNT:MIN:MAX[:DELAY], not 9",
             "bench: linux failed: eth2 has no carrier 10 s after link up",
             "bench: linux done"]
    got = lg.parse_send(lines)
    want = {"ready": ("6.1.0-57-cloud-amd64", 3.95), "sent": {"eth0": (1000, 1000, 70312, 0)},
            "errors": ["pktgen send on eth1: pktgen refused 'dst_mac x'",
                       "pktgen send on ?: want DEV:COUNT:MIN:MAX[:DELAY], not 9",
                       "eth2 has no carrier 10 s after link up"],
            "done": True}
    if got != want:
        raise Failure(f"parsed {got}, want {want}")
    cmd = lg.send_cmdline([("eth0", 1000, 60, 1514, 0), ("eth1", 5, 60, 60, 500000)],
                          "52:54:00:12:34:56", "ipv6.disable=1")
    if cmd != ("console=ttyS0 quiet panic=-1 pktgen_dst_mac=52:54:00:12:34:56 "
               "pktgen_send=eth0:1000:60:1514:0,eth1:5:60:60:500000 ipv6.disable=1"):
        raise Failure(f"command line {cmd!r}")


def run():
    test("netrx/send-parse", check_send_parse)
    test("netrx/virtio-net", check_pair, "netrx/virtio-net", QEMU_DISTRO, [VIRTIO])
    test(f"netrx/virtio-net+igb-qemu{QEMU_10}", check_pair, f"netrx/virtio-net+igb-qemu{QEMU_10}",
         QEMU_10, [VIRTIO, IGB])
