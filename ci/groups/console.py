"""console: the control console's framing (docs/console.md) on one boot of the
test kernel: a half line or late replies a previous client left never reach
the next one, a second client is told who holds the console, lost input is
answered `ERR overrun` and never run, and 10,000 pipelined requests all get
their own exact replies.
"""
import os
import re
import subprocess
import threading
import time

from harness.ctl import CtlClient, CtlTimeout, Reply, frame, is_final
from harness.qemu import ROOT, TEST_KERNEL, TIMEOUT_SCALE, Config

from .common import Failure, checks_on_one_boot, progress

CTL = os.path.join(ROOT, "ci/ctl")
UPTIME = re.compile(r"  up \d+\.\d{3} s, 2 CPUs online")
CPU_LINE = re.compile(r"  cpu [01]: \d+ ticks, \d+ context switches")
# `help NAME` answers one exact line (the summaries in console/console_cmds.c)
HELP = {"uptime": "  uptime  -- time since boot and per-CPU tick counts",
        "mem": "  mem  -- physical frames and kernel heap usage"}
UNKNOWN = "ERR unknown command 'nosuch' (try 'help')"
PIPELINED = 10000
OVERRUN_BURST = 300


def client(v):
    return CtlClient(v.ctl_sock).connect(10 * TIMEOUT_SCALE)


def check_uptime(r, who):
    """The exact shape of an `uptime` reply: its own lines, nobody else's."""
    ok = (r.ok and len(r.lines) == 3 and UPTIME.fullmatch(r.lines[0])
          and all(CPU_LINE.fullmatch(s) for s in r.lines[1:]))
    if not ok:
        raise Failure(f"{who}: `uptime` answered {r.lines} {r.status}")


def half_line(v):
    """Finding 1: a client that timed out mid-line left `upt`; the next
    client's `uptime` used to arrive as `uptuptime`."""
    with client(v) as a:
        a.send_raw(b"upt")
    with client(v) as b:
        check_uptime(b.command("uptime"), "after a half line")


# short lines with long replies, so the guest is still answering when the
# next client connects
# Lines that each get an untagged `ERR invalid byte 0x.. at column 1`.
GARBAGE = b"\x00\xff\x0b\r" + b"\x0b\n" * 10 + b"\x1b[2Jgarbage\n"
GARBAGE_REPLIES = (["ERR invalid byte 0x00 at column 1"]
                   + ["ERR invalid byte 0x0b at column 1"] * 10
                   + ["ERR invalid byte 0x1b at column 1"])
BUSY_MS = 3000  # the guest's `sleep`: long enough for the next client to be waiting
DELIVERED = 1.5  # s for QEMU to hand a few hundred bytes to the guest's ring


def late_reply_binary(v):
    """Finding 1: after a client sent binary bytes and left, the next `uptime`
    got `ERR invalid byte 0x0b at column 1`. The first client queues the
    garbage behind a slow command and leaves; the guest answers it after the
    next client has connected: those untagged replies are set aside, exactly
    them, in order, and the next client gets its own uptime."""
    with client(v) as a:
        rid = a.new_id()
        a.send_raw(frame(rid, f"sleep {BUSY_MS}") + GARBAGE)
        time.sleep(DELIVERED)  # all of it in the guest (under 1 KiB: the ring holds it)
    with client(v) as b:
        check_uptime(b.command("uptime", timeout=60), "after binary bytes")
        if b.discarded != [f"#{rid} OK"] + GARBAGE_REPLIES:
            raise Failure(f"set aside {b.discarded}; expected the sleep's #{rid} OK, then "
                          f"{GARBAGE_REPLIES}")


def late_reply_after_timeout(v):
    """Finding 1: a ci/ctl that times out; its reply arrives while the next
    client waits for its own, and is set aside."""
    with client(v) as a:
        rid = a.next_id
        try:
            a.command(f"sleep {BUSY_MS}", timeout=1)
        except CtlTimeout as e:
            progress(f"console: first client: {e}")
        else:
            raise Failure(f"`sleep {BUSY_MS}` answered within 1 s")
    with client(v) as b:
        check_uptime(b.command("uptime", timeout=60), "after a client timed out")
        if b.discarded != [f"#{rid} OK"]:
            raise Failure(f"set aside {b.discarded}; expected ['#{rid} OK']")


def own_cmdline():
    with open("/proc/self/cmdline", "rb") as f:
        return " ".join(a.decode() for a in f.read().split(b"\0") if a)


def second_client_busy(v):
    """Finding 1: with a client connected, ci/ctl said only `no complete reply
    within 5 s`; it names the process holding the console."""
    def ctl(*args):
        return subprocess.run([CTL, "--socket", v.ctl_sock, "--timeout", "5", *args],
                              capture_output=True, text=True, timeout=60 * TIMEOUT_SCALE)
    with client(v):
        r = ctl("uptime")
    want = (f"ci/ctl: uptime: {v.ctl_sock}: console busy: in use by pid {os.getpid()} "
            f"({own_cmdline()})\n")
    if r.returncode != 2 or r.stderr != want or r.stdout:
        raise Failure(f"second client: exit {r.returncode}, stdout {r.stdout!r}, "
                      f"stderr {r.stderr!r}; expected exit 2 and {want!r}")
    r = ctl("uptime")  # the first client has gone
    lines = r.stdout.splitlines()
    if r.returncode != 0 or not lines or not UPTIME.fullmatch(lines[0]) or lines[-1] != "OK":
        raise Failure(f"after the first client left: exit {r.returncode}, {r.stdout!r}")


def human_unframed(v):
    """A human typing into the socket (socat): an unframed line gets an
    untagged reply; a blank line gets none."""
    with client(v) as a:
        a.send_raw(b"\nuptime\n")
        deadline = time.monotonic() + 30 * TIMEOUT_SCALE
        lines = []
        while not lines or not is_final(lines[-1]):
            line = a.readline(deadline, "the untagged reply")
            if not line.startswith("#"):  # a late reply to someone else's request
                lines.append(line)
    check_uptime(Reply(lines[:-1], lines[-1]), "unframed")


class Burst:
    """Write many framed requests in one go from a thread while reading every
    reply line, so neither side's buffer can stall the other."""

    def __init__(self, c, requests):
        self.c, self.requests = c, requests
        self.ids = {c.new_id(): req for req in requests}
        data = b"".join(frame(rid, req) for rid, req in self.ids.items())
        self.writer = threading.Thread(target=c.send_raw, args=(data,), daemon=True)
        self.got, self.other, self.done = {}, [], 0

    def run(self, quiet, limit):
        """Read lines until every request has its status, or nothing came for
        `quiet` s; returns {id: [lines]} and the lines without a known tag."""
        self.writer.start()
        deadline = time.monotonic() + limit
        last = time.monotonic()
        while self.done < len(self.ids):
            try:
                line = self.c.readline(min(last + quiet, deadline), "the burst's replies")
            except CtlTimeout:
                break
            last = time.monotonic()
            self.take(line)
        self.writer.join(30 * TIMEOUT_SCALE)
        if self.writer.is_alive():
            raise Failure("the burst's write has not finished: the guest stopped reading")
        return self.got, self.other

    def take(self, line):
        """File one line under its request, or under other."""
        m = re.match(r"#(\d+) (.*)", line)
        if not m or int(m.group(1)) not in self.ids:
            self.other.append(line)
            return
        rid = int(m.group(1))
        self.got.setdefault(rid, []).append(m.group(2))
        if m.group(2) == "OK" or m.group(2).startswith("ERR"):
            self.done += 1
            if self.done % 1000 == 0:
                progress(f"console: {self.done} of {len(self.ids)} replies")


def overrun(v):
    """Finding 2: with receive flow control off (`flow off`, test kernel), a
    burst of `help` (a long reply for a short request, so the console thread
    falls behind the input) overflows the guest's 1 KiB ring for real: every
    damaged request is answered `ERR overrun` or swallowed, never run as
    something else; every other request gets the exact reply `help` gives
    alone, each id at most once. A `sleep 1000` heads the burst and holds the
    console thread while the rest arrives, so the ring overflows on any host:
    without it an idle host's guest kept up with the 300 `help` and nothing
    overran (seen once in a fresh-clone run)."""
    with client(v) as c:
        alone = c.command("help")
        r = c.command("flow off")
        if not alone.ok or not r.ok:
            raise Failure(f"`help` answered {alone.status}, `flow off` {r.status}")
        want = alone.lines + ["OK"]
        reqs = ["sleep 1000"] + ["help"] * OVERRUN_BURST
        burst = Burst(c, reqs)
        held = next(iter(burst.ids))  # the sleep's id: the first one
        # quiet can be short: a reply later than that still comes before
        # flow on's (one console thread, in order) and is filed below
        got, other = burst.run(quiet=2, limit=300 * TIMEOUT_SCALE)
        r = c.command("flow on", timeout=60)
        if not r.ok:
            raise Failure(f"`flow on` answered {r.status}")
        # bytes lost at the burst's very end are reported with the next byte
        # received, flow on's: that reply was set aside by command()
        for line in c.discarded:
            burst.take(line)
    slept = got.pop(held, None)
    if slept != ["OK"]:
        raise Failure(f"`sleep 1000` at the head of the burst answered {slept}")
    reqs = reqs[1:]
    bad = {rid: lines for rid, lines in got.items() if lines not in (want, ["ERR overrun"])}
    stray = [s for s in other if s != "ERR overrun"]
    refused = sum(1 for lines in got.values() if lines == ["ERR overrun"])
    untagged = other.count("ERR overrun")
    progress(f"console: {len(reqs)} `help` with flow control off: {len(got) - refused} answered, "
             f"{refused} refused `ERR overrun` tagged, {untagged} untagged, "
             f"{len(reqs) - len(got)} swallowed")
    if bad:
        rid = min(bad)
        raise Failure(f"{len(bad)} requests got a wrong reply, e.g. #{rid}: {bad[rid][:3]}")
    if stray:
        raise Failure(f"lines that are no reply to the burst: {stray[:3]}")
    if refused + untagged == 0:
        raise Failure("no overrun happened: the test did not test anything")


def pipelined(v):
    """Finding 2: 1000 `help` lines in one write got 279 replies in 94 s, 21 of
    them `ERR unknown command 'elp'` and the like. 10,000 framed requests
    written at once with flow control on (the default): first the burst of
    `help` that overflows the ring with flow control off (see overrun), then
    short requests; every one gets its exact reply, and nothing else comes."""
    mix = ("help uptime", "help mem", "nosuch")
    reqs = ["help"] * OVERRUN_BURST
    reqs += [mix[i % 3] for i in range(PIPELINED - OVERRUN_BURST)]
    t0 = time.monotonic()
    with client(v) as c:
        alone = c.command("help")
        burst = Burst(c, reqs)
        got, other = burst.run(quiet=30 * TIMEOUT_SCALE, limit=600 * TIMEOUT_SCALE)
    took = time.monotonic() - t0
    progress(f"console: {PIPELINED} pipelined requests answered in {took:.1f} s")
    want = {"help": alone.lines + ["OK"], "nosuch": [UNKNOWN]}
    want.update({req: [HELP[req.split()[1]], "OK"] for req in mix[:2]})
    missing = [rid for rid in burst.ids if rid not in got]
    wrong = [rid for rid, lines in got.items() if lines != want[burst.ids[rid]]]
    if missing or wrong or other:
        raise Failure(f"{len(missing)} unanswered, {len(wrong)} wrong "
                      + (f"(#{wrong[0]}: {got[wrong[0]][:3]}) " if wrong else "")
                      + f"and {len(other)} stray lines {other[:3]} in {took:.1f} s")


CHECKS = [
    ("half-line", half_line),
    ("late-reply-binary", late_reply_binary),
    ("late-reply-after-timeout", late_reply_after_timeout),
    ("second-client-busy", second_client_busy),
    ("human-unframed", human_unframed),
    ("overrun", overrun),
    ("pipelined-10000", pipelined),
]


def run():
    cfg = Config(firmware="bios", smp=2, cmdline="", kernel=TEST_KERNEL)
    checks_on_one_boot("console", cfg, CHECKS)
