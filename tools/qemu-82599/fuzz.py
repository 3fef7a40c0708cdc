#!/usr/bin/env python3
"""Hostile-guest attack on the 82599 model (ixgbe82599*.c) over QEMU's qtest protocol.

    tools/qemu-82599/fuzz.py [--cases] [--seconds S] [--iterations N] [--seed N] [--qemu PATH]

No guest runs: the script is the guest. It programs PCI config through
0xcf8/0xcfc, maps BAR0 and BAR3, sets the device up as a driver would (memory
and bus master on, RX and TX rings, loopback) and then attacks it.

--cases runs the deterministic cases, one fresh QEMU each, every case asserting
its exact outcome (counters, ring heads, the exact guest-error or unimp log
lines, and that QEMU still answers). Without --cases (or with --seconds or
--iterations as well) a seeded fuzzer (30 s unless told) mixes valid and hostile
operations in batches of 50; after each batch QEMU must answer a read of STATUS
within TIMEOUT seconds. On a crash, an abort or a hang it prints the seed, the
batch, what QEMU said and the replay command, writes the fuzz operations of the
last 40 or so batches, up to the failure, as qtest lines to out/model-fuzz-SEED.log
and exits 1; the same seed replays every operation. Exit 0: every case passed and no failure.
"""
import json
import os
import random
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "ci"))
from harness import args  # noqa: E402

PROG = "tools/qemu-82599/fuzz.py"
# A qtest command that takes this long is a hang (times MAPLE_TIMEOUT_SCALE,
# as every timeout in ci/).
SCALE = args.env_scale("MAPLE_TIMEOUT_SCALE")
TIMEOUT = 10.0 * SCALE

# Where the script puts things: the device at 00:02.0 on q35, its BARs in the
# PCI hole, its rings and buffers in the 128 MiB of guest RAM.
DEVFN = 2 << 3
BAR0 = 0xE0000000
BAR3 = 0xE0020000
ECAM = 0xB0000000 + (DEVFN << 12)  # q35's MMCONFIG window, this device's config
RAM = 128 << 20
TXRING, RXRING, TXBUF, RXBUF = 0x100000, 0x200000, 0x300000, 0x1000000
TXRING2 = 0x400000  # a second TX ring

# Registers (datasheet 8.2.3; the model's names).
CTRL, STATUS, EICR, EICS, EIMS, GPIE = 0x0, 0x8, 0x800, 0x808, 0x880, 0x898
IVAR0, RXCTRL, HLREG0, DMATXCTL, FCTRL = 0x900, 0x3000, 0x4240, 0x4A80, 0x5080
GPRC, GPTC = 0x4074, 0x4080
Q_LEN_MAX = 0xFFF80  # RDLEN/TDLEN bits 19:7 (datasheet 8.2.3.8.3, 8.2.3.9.7)
RST, ENABLE, TE, RXEN, LPBK, UPE, BAM = 1 << 26, 1 << 25, 1, 1, 1 << 15, 1 << 9, 1 << 10
HLREG0_DEFAULT = 0x403  # TXCRCEN | RXCRCSTRP | TXPADEN
BAL, BAH, LEN, HEAD, SRRCTL, TAIL, DCTL = 0x0, 0x4, 0x8, 0x10, 0x14, 0x18, 0x28
EOP, RS, DEXT, DTYP_DATA = 1 << 24, 1 << 27, 1 << 29, 3 << 20


def rxq(q):
    return (0x1000 + q * 0x40) if q < 64 else (0xD000 + (q - 64) * 0x40)


def txq(q):
    return 0x6000 + q * 0x40


class Dead(Exception):
    """QEMU exited, aborted or stopped answering."""


class QTest:
    """One QEMU with the model under qtest; `cmd` sends a line and returns the answer."""

    def __init__(self, qemu, log):
        self.log = log
        self.qmp_sock = log + ".qmp"
        self.stderr = open(log + ".stderr", "w+")
        self.proc = subprocess.Popen(
            [qemu, "-accel", "qtest", "-qtest", "stdio", "-qtest-log", "/dev/null",
             "-display", "none", "-nodefaults", "-machine", "q35", "-m", str(RAM >> 20),
             "-netdev", "hubport,id=n0,hubid=0",
             "-device", f"ixgbe82599,netdev=n0,addr={DEVFN >> 3:02x}.0",
             "-d", "guest_errors,unimp", "-D", log,
             "-qmp", f"unix:{self.qmp_sock},server=on,wait=off"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr)
        self.buf = b""

    def cmd(self, line, timeout=TIMEOUT):
        try:
            self.proc.stdin.write(line.encode() + b"\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise Dead(self.why(f"QEMU gone before `{line}`")) from None
        return self.cmd_answer(line, timeout)

    def cmd_answer(self, line, timeout=TIMEOUT):
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                raise Dead(f"no answer to `{line}` within {timeout:.0f} s (a hang)")
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise Dead(self.why(f"QEMU exited during `{line}`"))
            self.buf += chunk
        ans, self.buf = self.buf.split(b"\n", 1)
        ans = ans.decode(errors="replace")
        if not ans.startswith("OK"):
            raise Dead(f"`{line}` answered `{ans}`")
        return ans

    def many(self, lines):
        """Send every line, then collect the answers (qtest answers in order)."""
        try:
            self.proc.stdin.write("".join(ln + "\n" for ln in lines).encode())
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise Dead(self.why(f"QEMU gone before `{lines[0]}`")) from None
        return [self.cmd_answer(ln) for ln in lines]

    def why(self, what):
        try:
            rc = self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.stderr.seek(0)
        err = self.stderr.read().strip()[-600:]
        sig = f" (signal {signal.Signals(-rc).name})" if rc < 0 else f" (exit status {rc})"
        return f"{what}{sig}: {err or 'nothing on stderr'}"

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.stderr.close()

    def qmp(self, command, **arguments):
        """One QMP command on the monitor socket; its `return`, or Dead."""
        with socket.socket(socket.AF_UNIX) as c:
            c.settimeout(TIMEOUT)
            c.connect(self.qmp_sock)
            f = c.makefile("rw")
            f.readline()  # the greeting
            for msg in ({"execute": "qmp_capabilities"},
                        {"execute": command, "arguments": arguments}):
                f.write(json.dumps(msg) + "\n")
                f.flush()
                while True:
                    ans = json.loads(f.readline() or "{}")
                    if "event" not in ans:
                        break
                if "return" not in ans:
                    raise Dead(f"QMP {msg['execute']}: {ans or 'no answer'}")
            return ans["return"]

    # qtest's commands.
    def r32(self, addr):
        return int(self.cmd(f"readl 0x{addr:x}").split()[1], 16)

    def w32(self, addr, v):
        self.cmd(f"writel 0x{addr:x} 0x{v & 0xFFFFFFFF:x}")

    def mem(self, addr, data):
        self.cmd(f"write 0x{addr:x} 0x{len(data):x} 0x{data.hex()}")

    def memread(self, addr, n):
        return bytes.fromhex(self.cmd(f"read 0x{addr:x} 0x{n:x}").split()[1][2:])

    def cfg_w32(self, off, v):
        self.cmd(f"outl 0xcf8 0x{0x80000000 | (DEVFN << 8) | off:x}")
        self.cmd(f"outl 0xcfc 0x{v:x}")

    def cfg_r32(self, off):
        self.cmd(f"outl 0xcf8 0x{0x80000000 | (DEVFN << 8) | off:x}")
        return int(self.cmd("inl 0xcfc").split()[1], 16)

    def reg(self, off):
        return self.r32(BAR0 + off)

    def set(self, off, v):
        self.w32(BAR0 + off, v)


def start(qemu, log):
    """A QEMU with the device mapped, memory and bus master on, reset once."""
    q = QTest(qemu, log)
    try:
        if q.cfg_r32(0) != 0x10FB8086:
            raise Dead(f"no 8086:10fb at 00:{DEVFN >> 3:02x}.0")
        map_bars(q)
        q.set(CTRL, RST)
    except Exception:
        q.close()
        raise
    return q


def map_bars(q):
    q.cfg_w32(0x10, BAR0)
    q.cfg_w32(0x14, 0)
    q.cfg_w32(0x1C, BAR3)
    q.cfg_w32(0x20, 0)
    q.cfg_w32(0x04, 0x6)  # memory space and bus master


def desc(addr, length, cmd):
    """An advanced TX data descriptor (7.2.3.2.4): address, then DTALEN | command."""
    return addr.to_bytes(8, "little") + (length | DEXT | DTYP_DATA | cmd).to_bytes(
        4, "little") + (0).to_bytes(4, "little")


def tx_ring(q, n, qn=0, base=TXRING):
    b = txq(qn)
    q.set(b + BAL, base & 0xFFFFFFFF)
    q.set(b + BAH, base >> 32)
    q.set(b + LEN, n * 16)
    q.set(b + HEAD, 0)
    q.set(b + TAIL, 0)
    q.set(b + DCTL, ENABLE)
    q.set(DMATXCTL, TE)


def rx_ring(q, n, free, srrctl=2, base=RXRING):
    """RX queue 0 with n descriptors, `free` of them given buffers, loopback on."""
    b = rxq(0)
    q.set(b + BAL, base & 0xFFFFFFFF)
    q.set(b + BAH, base >> 32)
    q.set(b + LEN, n * 16)
    q.set(b + SRRCTL, srrctl)
    for i in range(free):
        q.mem(base + i * 16, (RXBUF + i * 0x4000).to_bytes(8, "little") + bytes(8))
    q.set(b + HEAD, 0)
    q.set(b + DCTL, ENABLE)
    q.set(b + TAIL, free)
    q.set(FCTRL, UPE | BAM)
    q.set(HLREG0, HLREG0_DEFAULT | LPBK)
    q.set(RXCTRL, RXEN)


def log_lines(log):
    with open(log, errors="replace") as f:
        return [ln.rstrip("\n") for ln in f]


class CaseFailed(Exception):
    pass


def expect(what, got, want):
    if got != want:
        raise CaseFailed(f"{what}: got {got!r}, want {want!r}")


def model_lines(log):
    return [ln for ln in log_lines(log) if ln.startswith("ixgbe82599:")]


# --- deterministic cases: each gets a fresh QEMU and its log ---------------

def bad_ring(q, length, tail):
    """TX queue 0 with ring length `length` and tail `tail`, enabled last (one kick)."""
    q.set(DMATXCTL, TE)
    q.set(txq(0) + BAL, TXRING)
    q.set(txq(0) + LEN, length)
    q.set(txq(0) + TAIL, tail)
    q.set(txq(0) + DCTL, ENABLE)


def case_ring_len_zero(q, log):
    """TDLEN 0 and a tail kick: the queue stops with one log line, nothing is read."""
    bad_ring(q, 0, 1)
    expect("log", model_lines(log), ["ixgbe82599: TX queue 0: head 0 or tail 1 outside a ring "
                                     "of 0 descriptors; queue stopped"])
    expect("TDH", q.reg(txq(0) + HEAD), 0)


def case_ring_len_huge(q, log):
    """TDLEN 0xffffff80 (2^28 descriptors on a naive model): the length is bounded to
    the register's 20 bits (65528 descriptors), so a tail of 2^19 is beyond the ring."""
    bad_ring(q, 0xFFFFFF80, 1 << 19)
    expect("TDLEN read back", q.reg(txq(0) + LEN), Q_LEN_MAX)
    expect("log", model_lines(log), ["ixgbe82599: TX queue 0: head 0 or tail 524288 outside a "
                                     "ring of 65528 descriptors; queue stopped"])


def case_ring_len_unaligned(q, log):
    """TDLEN 0x8c: bits 6:0 are not part of the length, so the ring has 8 descriptors."""
    bad_ring(q, 0x8C, 8)
    expect("TDLEN read back", q.reg(txq(0) + LEN), 0x80)
    expect("log", model_lines(log), ["ixgbe82599: TX queue 0: head 0 or tail 8 outside a ring "
                                     "of 8 descriptors; queue stopped"])


def case_every_ring_full(q, log):
    """All 128 TX queues with the largest ring (65528 descriptors, bounded by the
    length register), every descriptor a 64 KiB frame: hundreds of GiB to copy. The
    enable (DMATXCTL.TE) must answer at once, QEMU must answer while the work goes
    on, and a reset in the middle of it stops it."""
    n = Q_LEN_MAX // 16
    q.mem(TXBUF, bytes([0x02] * 6 + [0] * 8))
    ring = desc(TXBUF, 0xFFFF, EOP) * 4096
    q.many([f"write 0x{TXRING + i * 16:x} 0x{min(4096, n - i) * 16:x} "
            f"0x{ring[:min(4096, n - i) * 16].hex()}" for i in range(0, n, 4096)])
    for qn in range(128):
        b = txq(qn)
        q.many([f"writel 0x{BAR0 + b + r:x} 0x{v:x}" for r, v in
                ((BAL, TXRING), (LEN, n * 16), (TAIL, n - 1), (DCTL, ENABLE))])
    t0 = time.monotonic()
    q.cmd(f"writel 0x{BAR0 + DMATXCTL:x} 0x{TE:x}", timeout=5 * SCALE)
    q.cmd(f"readl 0x{BAR0 + STATUS:x}", timeout=5 * SCALE)
    took = time.monotonic() - t0
    if took > 2.0 * SCALE:
        raise CaseFailed(f"the enable and a STATUS read took {took:.1f} s")
    head = q.reg(txq(0) + HEAD)
    if not 0 < head < n - 1:
        raise CaseFailed(f"TDH(0) {head} right after the enable: want work begun, not done")
    q.set(CTRL, RST)
    expect("TDLEN(0) after reset", q.reg(txq(0) + LEN), 0)
    expect("TDH(127) after reset", q.reg(txq(127) + HEAD), 0)
    expect("GPTC after reset", q.reg(GPTC), 0)


def case_frames_whole_across_budget(q, log):
    """2000 frames of three 20-byte descriptors on queue 0 (more than one kick's
    budget of descriptors), then one on queue 1 at once: every frame leaves whole,
    60 bytes each (GOTC counts 64 with the FCS), none spliced with another queue's."""
    frames = 2000
    ring0 = (desc(TXBUF, 20, 0) * 2 + desc(TXBUF, 20, EOP)) * frames
    q.many([f"write 0x{TXRING + i:x} 0x{min(0x8000, len(ring0) - i):x} "
            f"0x{ring0[i:i + 0x8000].hex()}" for i in range(0, len(ring0), 0x8000)])
    q.mem(TXBUF, bytes([0x02] * 6) + bytes(14))
    q.mem(TXRING2, desc(TXBUF, 20, 0) * 2 + desc(TXBUF, 20, EOP))
    tx_ring(q, 8192)
    tx_ring(q, 8, qn=1, base=TXRING2)
    q.many([f"writel 0x{BAR0 + txq(0) + TAIL:x} 0x{3 * frames:x}",
            f"writel 0x{BAR0 + txq(1) + TAIL:x} 0x3"])
    t0 = time.monotonic()
    while q.reg(txq(0) + HEAD) != 3 * frames:
        if time.monotonic() - t0 > 30 * SCALE:
            raise CaseFailed(f"TDH(0) {q.reg(txq(0) + HEAD)} after 30 s, want {3 * frames}")
    expect("TDH(1)", q.reg(txq(1) + HEAD), 3)
    expect("GPTC", q.reg(GPTC), frames + 1)
    expect("GOTCL", q.reg(0x4090), (frames + 1) * 64)


def case_tx_round_robin(q, log):
    """Queue 0 kept full (65528 one-descriptor frames, its tail moved up behind its
    head after every look) and one frame on queue 1, both waiting when DMATXCTL.TE
    starts them: the bottom half must take the queues in turn, so queue 1's frame
    leaves (TDH(1) 1, its DD written) while queue 0 never empties. A model whose
    every pass restarted at queue 0 spent each budget there and left it at TDH(1) 0."""
    n = Q_LEN_MAX // 16
    q.mem(TXBUF, bytes([0x02] * 6) + bytes(54))
    ring = desc(TXBUF, 60, EOP) * 4096
    q.many([f"write 0x{TXRING + i * 16:x} 0x{min(4096, n - i) * 16:x} "
            f"0x{ring[:min(4096, n - i) * 16].hex()}" for i in range(0, n, 4096)])
    q.mem(TXRING2, desc(TXBUF, 60, EOP | RS))
    for qn, base, length, tail in ((0, TXRING, n, n - 1), (1, TXRING2, 8, 1)):
        b = txq(qn)
        q.many([f"writel 0x{BAR0 + b + r:x} 0x{v:x}" for r, v in
                ((BAL, base), (LEN, length * 16), (TAIL, tail), (DCTL, ENABLE))])
    q.set(DMATXCTL, TE)
    for _ in range(30):
        head = q.reg(txq(0) + HEAD)
        q.set(txq(0) + TAIL, (head - 1) % n)
    expect("TDH(1)", q.reg(txq(1) + HEAD), 1)
    expect("DD of queue 1's descriptor", q.memread(TXRING2 + 12, 4), b"\x01\x00\x00\x00")
    head, tail = q.reg(txq(0) + HEAD), q.reg(txq(0) + TAIL)
    if (tail - head) % n < n // 2:
        raise CaseFailed(f"queue 0 drained to {(tail - head) % n} descriptors: "
                         "the case did not keep it full")


def case_head_tail_beyond(q, log):
    """TDH written beyond an 8-descriptor ring is logged; the kick then stops the queue."""
    tx_ring(q, 8)
    q.set(txq(0) + HEAD, 100)
    q.set(txq(0) + TAIL, 3)
    expect("log", model_lines(log), [
        "ixgbe82599: head 0x64 beyond the ring at 0x06010",
        "ixgbe82599: TX queue 0: head 100 or tail 3 outside a ring of 8 descriptors; "
        "queue stopped"])
    expect("GPTC", q.reg(GPTC), 0)


def case_buffer_anywhere(q, log):
    """TX buffers beyond RAM, in the device's own BAR0 and in its PCI config (ECAM):
    each frame is dropped with a log line, or sent from what the read returned."""
    addrs = [0xFFFFFFFFFFFF0000, RAM + 0x1000, BAR0, BAR3, ECAM, 0xFFFFFFFFFFFFFFF0]
    ring = b"".join(desc(a, 64, EOP | RS) for a in addrs)
    q.mem(TXRING, ring)
    tx_ring(q, 8)
    q.set(txq(0) + TAIL, len(addrs))
    expect("TDH", q.reg(txq(0) + HEAD), len(addrs))
    drop = ("ixgbe82599: TX queue 0: packet over 65536 bytes or unreadable buffer; dropped")
    got = model_lines(log)
    if not got or set(got) != {drop}:
        raise CaseFailed(f"log {got!r}: want only `{drop}` lines")
    expect("frames sent + dropped", q.reg(GPTC) + len(got), len(addrs))
    expect("DD of the last descriptor", q.memread(TXRING + (len(addrs) - 1) * 16 + 12, 4),
           b"\x01\x00\x00\x00")


def case_lengths(q, log):
    """A 0-byte frame (padded to 60) and one of 65535 bytes in one descriptor, looped
    back into RX with 16 KiB buffers (the frame takes 4 of them); then a chain without
    EOP over the whole ring, which is sent once EOP comes."""
    rx_ring(q, 64, 63, srrctl=16)
    q.mem(TXBUF, bytes([0x02] * 6) + bytes(0x10000))
    q.mem(TXRING, desc(TXBUF, 0, EOP | RS) + desc(TXBUF, 0xFFFF, EOP | RS))
    tx_ring(q, 8)
    q.set(txq(0) + TAIL, 2)
    expect("GPTC", q.reg(GPTC), 2)
    expect("GPRC", q.reg(GPRC), 2)
    expect("RDH", q.reg(rxq(0) + HEAD), 1 + 4)
    # Legacy write-back (SRRCTL.DESCTYPE 0, 7.1.5): the length at byte 8.
    expect("last RX length", int.from_bytes(q.memread(RXRING + 4 * 16 + 8, 2), "little"),
           0xFFFF - 3 * 16384)
    expect("log", model_lines(log), [])
    # No EOP: 7 descriptors of 100 bytes wait; the eighth (EOP) sends 800 bytes.
    q.mem(TXRING, desc(TXBUF, 100, RS) * 7 + desc(TXBUF, 100, EOP | RS))
    tx_ring(q, 8)
    q.set(txq(0) + TAIL, 7)
    expect("GPTC (no EOP yet)", q.reg(GPTC), 0)
    q.set(txq(0) + TAIL, 0)
    expect("GPTC (EOP)", q.reg(GPTC), 1)
    expect("RX length", int.from_bytes(q.memread(RXRING + 5 * 16 + 8, 2), "little"), 800)


def case_no_eop_ever(q, log):
    """64 KiB descriptors without EOP round the ring twice: the frame outgrows 64 KiB
    and is dropped, with one log line, when EOP finally comes."""
    q.mem(TXRING, desc(TXBUF, 0xFFFF, RS) * 7 + desc(TXBUF, 0xFFFF, EOP | RS))
    tx_ring(q, 8)
    q.set(txq(0) + TAIL, 7)
    q.set(txq(0) + TAIL, 0)
    expect("GPTC", q.reg(GPTC), 0)
    expect("log", model_lines(log), ["ixgbe82599: TX queue 0: packet over 65536 bytes or "
                                     "unreadable buffer; dropped"])


def case_srrctl_zero(q, log):
    """SRRCTL.BSIZEPACKET 0 means the 2 KiB default: a 3000-byte frame takes 2 buffers."""
    rx_ring(q, 8, 7, srrctl=0)
    q.mem(TXBUF, bytes([0x02] * 6) + bytes(3000))
    q.mem(TXRING, desc(TXBUF, 3000, EOP | RS))
    tx_ring(q, 8)
    q.set(txq(0) + TAIL, 1)
    expect("RDH", q.reg(rxq(0) + HEAD), 2)
    expect("second buffer's length", int.from_bytes(q.memread(RXRING + 16 + 8, 2),
                                                    "little"), 3000 - 2048)


def case_rx_ring_in_bar0(q, log):
    """RX descriptors in the device's own BAR0 (a looped-back frame's write-back
    would land on CTRL and the registers after it): QEMU refuses a device's DMA into
    its own registers while it is busy, so the descriptor read fails and is logged,
    no register changes, and the device goes on."""
    rx_ring(q, 8, 0, srrctl=1, base=BAR0)
    q.set(rxq(0) + TAIL, 4)
    q.mem(TXBUF, bytes([0x02] * 6) + bytes(100))
    q.mem(TXRING, desc(TXBUF, 100, EOP | RS))
    tx_ring(q, 8)
    q.set(txq(0) + TAIL, 1)
    expect("log", model_lines(log), [f"ixgbe82599: RX queue 0: descriptor read at 0x{BAR0:x} "
                                     "failed"])
    expect("TDLEN (no reset)", q.reg(txq(0) + LEN), 0x80)
    expect("GPTC", q.reg(GPTC), 1)


def case_msix_into_own_registers(q, log):
    """MSI-X vector 0 aimed at the device's own TDT(0) and raised by a link change
    (QMP set_link), which no MMIO access surrounds: the message's write reaches the
    register and sends a frame, and that frame's completion, on the same vector,
    writes TDT again from inside the first write, which QEMU refuses (one level
    deep, no recursion)."""
    q.mem(TXRING, desc(TXBUF, 60, EOP | RS) * 2)
    tx_ring(q, 8)
    q.cfg_w32(0x70, q.cfg_r32(0x70) | (1 << 31))
    q.w32(BAR3 + 0, BAR0 + txq(0) + TAIL)
    q.w32(BAR3 + 4, 0)
    q.w32(BAR3 + 8, 1)  # the message: TDT(0) = 1
    q.w32(BAR3 + 12, 0)
    q.set(GPIE, 1 << 4)
    q.set(0xA00, 0x80 << 8)  # IVAR_MISC: other causes to vector 0
    q.set(IVAR0, 0x80 << 8)  # TX queue 0 to vector 0
    q.set(EIMS, (1 << 20) | 1)  # LSC and vector 0
    q.qmp("set_link", name="n0", up=False)
    expect("TDH after the message", q.reg(txq(0) + HEAD), 1)
    expect("GPTC (counted, link down)", q.reg(GPTC), 1)
    with open(log + ".stderr") as f:
        expect("QEMU's stderr", f.read(), "warning: Blocked re-entrant IO on MemoryRegion: "
               f"ixgbe82599-mmio at addr: 0x{txq(0) + TAIL:x}\n")
    q.qmp("set_link", name="n0", up=True)


def case_queue_indices(q, log):
    """Queue 127 (the last, TX and RX blocks), IVAR 63, vector 63: all in range."""
    q.mem(TXRING, desc(TXBUF, 60, EOP | RS))
    tx_ring(q, 8, qn=127)
    q.set(IVAR0 + 63 * 4, 0xBFBFBFBF)  # every cause of queues 126/127 to vector 63
    q.set(GPIE, 1 << 4)
    q.cfg_w32(0x70, q.cfg_r32(0x70) | (1 << 31))  # MSI-X enable (message control)
    q.set(0xAA4, 0x80000000)  # EIMS_EX(1): vector 63
    q.w32(BAR3 + 63 * 16 + 12, 0)  # the table entry unmasked (it resets masked)
    q.set(txq(127) + TAIL, 1)
    expect("TDH(127)", q.reg(txq(127) + HEAD), 1)
    pba = q.r32(BAR3 + 0x2000 + 4)
    expect("vector 63 fired (not left pending)", pba & (1 << 31), 0)
    q.set(rxq(127) + LEN, 0x80)
    expect("RDLEN(127)", q.reg(rxq(127) + LEN), 0x80)
    expect("last BAR0 dword", q.reg(0x1FFFC), 0)
    expect("log", model_lines(log), ["ixgbe82599: read of unmodelled register 0x1fffc "
                                     "(returns the stored value; logged once)"])


def case_msix_table(q, log):
    """Every dword of BAR3 (table, PBA and the gap) written with all ones and read
    back; then every vector fired with the table full of junk addresses."""
    q.cfg_w32(0x70, q.cfg_r32(0x70) | (1 << 31))
    for off in range(0, 0x4000, 4):
        q.w32(BAR3 + off, 0xFFFFFFFF)
        q.r32(BAR3 + off)
    for v in range(64):
        q.w32(BAR3 + v * 16, BAR0 + CTRL)  # message address: the device's own CTRL
        q.w32(BAR3 + v * 16 + 4, 0)
        q.w32(BAR3 + v * 16 + 8, RST)
        q.w32(BAR3 + v * 16 + 12, 0)  # unmasked
    q.set(GPIE, 1 << 4)
    q.set(0xAA0, 0xFFFFFFFF)
    q.set(0xAA4, 0xFFFFFFFF)
    q.set(0xA90, 0xFFFFFFFF)  # EICS_EX: every vector
    q.set(0xA94, 0xFFFFFFFF)
    expect("GPIE (no MSI reset itself)", q.reg(GPIE), 1 << 4)


def case_every_offset(q, log):
    """Every BAR0 dword offset read and written at every size 1, 2, 4 and 8, then read
    again: only 4 is a valid size; each unmodelled offset is logged once per direction,
    however often it is touched. CTRL is left alone (a write of 0 is harmless, but its
    reset is another case's business)."""
    lines = []
    for off in range(4, 0x20000, 4):
        a = BAR0 + off
        lines += [f"readb 0x{a + 3:x}", f"readw 0x{a + 2:x}", f"readl 0x{a:x}",
                  f"readq 0x{a:x}", f"writeb 0x{a + 1:x} 0xff", f"writew 0x{a:x} 0xffff",
                  f"writeq 0x{a:x} 0xffffffffffffffff", f"writel 0x{a:x} 0x0",
                  f"readl 0x{a:x}"]
    for i in range(0, len(lines), 4096):
        q.many(lines[i:i + 4096])
    got = model_lines(log)
    for kind in ("read", "write"):
        offs = [ln.split()[5] for ln in got if ln.startswith(f"ixgbe82599: {kind} of unmodelled")]
        twice = sorted({o for o in offs if offs.count(o) > 1})
        if twice:
            raise CaseFailed(f"{kind}s logged more than once: {twice[:5]}")
        if "0x00004" not in offs:
            raise CaseFailed(f"no {kind} line for 0x00004 (a register the model does not know)")
    expect("STATUS answers", q.reg(STATUS) & 0x80, 0x80)


def case_system_reset_mid_ring(q, log):
    """A machine reset (0xcf9) with frames in flight: the device comes back at its
    defaults, BARs unmapped, and works once mapped again."""
    rx_ring(q, 8, 7)
    q.mem(TXRING, desc(TXBUF, 60, EOP | RS) * 8)
    tx_ring(q, 8)
    q.set(txq(0) + TAIL, 3)
    q.cmd("outb 0xcf9 0x6")
    q.cmd("clock_step 1000000")
    expect("command after reset", q.cfg_r32(4) & 0x7, 0)
    map_bars(q)
    expect("TDLEN after reset", q.reg(txq(0) + LEN), 0)
    expect("GPTC after reset", q.reg(GPTC), 0)
    q.mem(TXRING, desc(TXBUF, 60, EOP | RS))
    tx_ring(q, 8)
    q.set(txq(0) + TAIL, 1)
    expect("GPTC", q.reg(GPTC), 1)


def case_checksum_headers(q, log):
    """Checksum insertion on frames whose IPv4 header lies: IHL 15 in a 34-byte
    frame, total length 0 (below the header), IHL 0. The model inserts nothing and
    sends each frame as it is."""
    eth = bytes([0x02] * 6 + [0x04] * 6) + b"\x08\x00"
    frames = [eth + bytes([0x4F]) + bytes(19),
              eth + bytes([0x45, 0, 0, 0]) + bytes(5) + b"\x06" + bytes(10) + bytes(20),
              eth + bytes([0x40, 0, 0, 60]) + bytes(5) + b"\x11" + bytes(10) + bytes(40)]
    rx_ring(q, 8, 7)
    ring = b""
    for i, f in enumerate(frames):
        q.mem(TXBUF + i * 0x1000, f)
        ring += desc(TXBUF + i * 0x1000, len(f), EOP | RS)[:12] + (3 << 8).to_bytes(4, "little")
    q.mem(TXRING, ring)
    tx_ring(q, 8)
    q.set(txq(0) + TAIL, len(frames))
    expect("GPTC", q.reg(GPTC), 3)
    for i, f in enumerate(frames):
        got = q.memread(RXBUF + i * 0x4000, len(f))
        expect(f"frame {i} as received", got.hex(), f.hex())


CASES = [case_ring_len_zero, case_ring_len_huge, case_ring_len_unaligned, case_head_tail_beyond,
         case_buffer_anywhere, case_lengths, case_no_eop_ever, case_srrctl_zero,
         case_rx_ring_in_bar0, case_msix_into_own_registers, case_queue_indices,
         case_msix_table, case_checksum_headers,
         case_system_reset_mid_ring, case_every_offset, case_every_ring_full,
         case_frames_whole_across_budget, case_tx_round_robin]


def run_cases(qemu, tmp):
    failed = 0
    for case in CASES:
        name = case.__name__[len("case_"):]
        log = os.path.join(tmp, f"{name}.log")
        t0 = time.monotonic()
        try:
            q = start(qemu, log)
            try:
                case(q, log)
                expect("STATUS.LINKUP at the end", q.reg(STATUS) & 0x80, 0x80)
            finally:
                q.close()
            print(f"case {name}: ok ({time.monotonic() - t0:.1f} s)", flush=True)
        except (CaseFailed, Dead) as e:
            failed += 1
            print(f"case {name}: FAILED: {e}", flush=True)
    return failed


# --- the seeded fuzzer -----------------------------------------------------

# Registers a driver writes, with behaviour; the fuzzer favours them.
HOT = [CTRL, EICR, EICS, EIMS, 0x888, GPIE, 0x810, 0x890, IVAR0, 0xA00, RXCTRL, HLREG0,
       DMATXCTL, FCTRL, 0x5090, 0x10010, 0x10014, 0x10018, 0x10140, 0x10160, 0x425C,
       0x4260, 0x28, 0x2F00, 0xA90, 0xA94, 0xAA0, 0xAA4, 0xAB0, 0xAB4, 0xAD0, 0xAD4]


def value(rng):
    return rng.choice([0, 1, 0xFFFFFFFF, 0x80000000, 0x7FFFFFFF, rng.getrandbits(32),
                       rng.getrandbits(8), rng.randrange(0, 0x100000, 16)])


def fuzz_op(rng):
    """One operation as a qtest line (or a list of lines)."""
    k = rng.random()
    if k < 0.35:  # a queue register, queue 0/1 mostly
        qn = rng.choice([0, 0, 1, 127, rng.randrange(128)])
        b = rng.choice([txq(qn), rxq(qn)])
        r = rng.choice([BAL, BAH, LEN, HEAD, SRRCTL, TAIL, TAIL, DCTL, 0xC, 0x20])
        v = {LEN: rng.choice([0, 0x80, 0x400, 0xFFF80, value(rng)]),
             TAIL: rng.choice([0, 1, 7, 63, 64, value(rng)]),
             DCTL: rng.choice([ENABLE, 0, value(rng)]),
             BAL: rng.choice([TXRING, RXRING, ECAM, BAR0, value(rng)])}.get(r, value(rng))
        return f"writel 0x{BAR0 + b + r:x} 0x{v:x}"
    if k < 0.5:
        off = rng.choice(HOT)
        v = value(rng)
        if off == CTRL:
            v &= ~(RST | 1 << 3)  # resets (RST, LRST) are their own, rarer operation
        return f"writel 0x{BAR0 + off:x} 0x{v:x}"
    if k < 0.65:  # a descriptor in a ring, with a buffer anywhere
        ring = rng.choice([TXRING, RXRING])
        at = ring + rng.randrange(64) * 16
        addr = rng.choice([TXBUF, RXBUF, 0, RAM - 8, ECAM, BAR0, BAR3, rng.getrandbits(64)])
        cmd = rng.choice([rng.getrandbits(16) | EOP | RS | DEXT | DTYP_DATA,
                          rng.getrandbits(32), 0xFFFF | RS, 0x3F | EOP])
        d = addr.to_bytes(8, "little") + cmd.to_bytes(4, "little") + \
            rng.choice([0, 3 << 8, rng.getrandbits(32)]).to_bytes(4, "little")
        return f"write 0x{at:x} 0x10 0x{d.hex()}"
    if k < 0.75:  # any offset, any size
        size = rng.choice([1, 2, 4, 8])
        off = rng.randrange(0x20000)
        name = {1: "b", 2: "w", 4: "l", 8: "q"}[size]
        if rng.random() < 0.5:
            return f"read{name} 0x{BAR0 + off:x}"
        v = rng.getrandbits(size * 8)
        if off < 8:
            v = 0  # CTRL.RST is its own operation
        return f"write{name} 0x{BAR0 + off:x} 0x{v:x}"
    if k < 0.82:  # MSI-X table and PBA
        off = rng.randrange(0, 0x4000, 4)
        if rng.random() < 0.5:
            return f"readl 0x{BAR3 + off:x}"
        return f"writel 0x{BAR3 + off:x} 0x{value(rng):x}"
    if k < 0.86:  # MSI-X enable/disable
        on = rng.random() < 0.7
        return [f"outl 0xcf8 0x{0x80000000 | (DEVFN << 8) | 0x70:x}",
                f"outl 0xcfc 0x{(1 << 31) if on else 0:x}"]
    if k < 0.863:
        return f"writel 0x{BAR0 + CTRL:x} 0x{RST:x}"
    if k < 0.87:  # bus master off, then on again later
        cmd = rng.choice([0x2, 0x6, 0x6, 0x6])
        return [f"outl 0xcf8 0x{0x80000000 | (DEVFN << 8) | 4:x}", f"outl 0xcfc 0x{cmd:x}"]
    if k < 0.875:  # any config dword, BARs included (driver_setup maps them back)
        off = rng.randrange(0, 0x100, 4)
        return [f"outl 0xcf8 0x{0x80000000 | (DEVFN << 8) | off:x}",
                f"outl 0xcfc 0x{value(rng):x}"]
    # a frame to send, as a driver would: its descriptor, then the tail
    i = rng.randrange(64)
    d = desc(TXBUF, rng.choice([60, 64, 1514, 3000, 9000]), EOP | RS)
    return [f"write 0x{TXRING + i * 16:x} 0x10 0x{d.hex()}",
            f"writel 0x{BAR0 + txq(0) + TAIL:x} 0x{(i + 1) % 64:x}"]


def driver_setup(q):
    """Rings as a driver sets them up: RX (loopback) and TX queue 0, 64 descriptors.
    Returns the frames sent and received since the last setup (GPTC, GPRC)."""
    map_bars(q)
    counts = (q.reg(GPTC), q.reg(GPRC))
    q.set(CTRL, RST)
    rx_ring(q, 64, 63, srrctl=2)
    q.mem(TXRING, desc(TXBUF, 60, EOP | RS) * 64)
    tx_ring(q, 64)
    return counts


def fuzz(qemu, seed, seconds, iterations, tmp):
    rng = random.Random(seed)
    log = os.path.join(tmp, "fuzz.log")
    t0 = time.monotonic()
    batches = ops = sent = received = 0
    history = []
    shown = t0
    q = None
    try:
        q = start(qemu, log)
        driver_setup(q)
        while (seconds is None or time.monotonic() - t0 < seconds) and \
                (iterations is None or batches < iterations):
            batch = []
            for _ in range(50):
                op = fuzz_op(rng)
                batch.extend(op if isinstance(op, list) else [op])
            history = history[-2000:] + [f"# batch {batches}"] + batch
            q.many(batch)
            ops += len(batch)
            # Alive: STATUS answers; then a fresh driver setup now and then.
            q.cmd(f"readl 0x{BAR0 + STATUS:x}") if q.cfg_r32(4) & 2 else q.cfg_r32(0)
            batches += 1
            if batches % 10 == 0:
                tx, rx = driver_setup(q)
                sent, received = sent + tx, received + rx
            if time.monotonic() - shown >= 10:
                shown = time.monotonic()
                print(f"fuzz: seed {seed}: {batches} batches, {ops} operations, "
                      f"{shown - t0:.0f} s", flush=True)
    except Dead as e:
        path = os.path.join(ROOT, f"out/model-fuzz-{seed}.log")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("\n".join(history) + "\n")
        print(f"fuzz: seed {seed}: FAILED in batch {batches}: {e}\n"
              f"fuzz: the last batches' operations (qtest lines): {path}\n"
              f"fuzz: replay: {PROG} --seed {seed} --iterations {batches + 1}", flush=True)
        if q:
            q.close()
        return False
    q.close()
    print(f"fuzz: seed {seed}: {batches} batches, {ops} operations in "
          f"{time.monotonic() - t0:.0f} s ({sent} frames sent, {received} received); "
          "QEMU answered after every batch", flush=True)
    return True


def main():
    p = args.Parser(PROG, __doc__)
    p.add_argument("--cases", action="store_true", help="run the deterministic cases")
    p.add_argument("--seconds", type=args.seconds, help="fuzz this long")
    p.add_argument("--iterations", type=args.count, help="fuzz this many batches of 50")
    p.add_argument("--seed", type=int, default=1, help="the fuzzer's seed (default 1)")
    p.add_argument("--qemu", type=args.nonempty,
                   help="the QEMU binary (default: ci/qemu82599's for this checkout)")
    a = p.parse_args()
    qemu = a.qemu
    if not qemu:
        d = subprocess.run([os.path.join(ROOT, "ci/qemu82599"), "--print-dir"],
                           capture_output=True, text=True).stdout.strip()
        qemu = os.path.join(d, "bin/qemu-system-x86_64")
    if not os.access(qemu, os.X_OK):
        p.error(f"no QEMU with the model at {qemu} (run ci/qemu82599)")
    ok = True
    with tempfile.TemporaryDirectory(prefix="maple-model-fuzz-") as tmp:
        if a.cases:
            failed = run_cases(qemu, tmp)
            print(f"cases: {len(CASES) - failed} passed, {failed} failed", flush=True)
            ok = failed == 0
        if not a.cases or a.seconds or a.iterations:
            seconds = a.seconds if (a.seconds or a.iterations) else 30.0
            ok = fuzz(qemu, a.seed, seconds, a.iterations, tmp) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
