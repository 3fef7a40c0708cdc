"""console: the control console's framing (docs/console.md) on one boot of the
test kernel: a half line or late replies a previous client left never reach
the next one, a second client is told who holds the console, lost input is
answered `ERR overrun` and never run, and 10,000 pipelined requests all get
their own exact replies.
"""
import os
import re
import socket
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


def next_client_while_busy(v, data, lines):
    """A client (raw, like socat) sends data and waits until the guest answers
    it; the next client connects and sends `uptime` while the guest is still
    busy with the rest, and QEMU accepts that connection the moment the first
    one hangs up, so the rest's replies reach it. Returns the next client's
    reply and the lines it set aside."""
    a = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    a.settimeout(30 * TIMEOUT_SCALE)
    try:
        a.connect(v.ctl_sock)
        a.sendall(data)
        got = b""
        while got.count(b"\n") < lines:
            chunk = a.recv(4096)
            if not chunk:
                raise Failure("the console hung up on the first client")
            got += chunk
        with client(v) as b:  # queued behind a until a hangs up
            rid = b.new_id()
            b.send_raw(frame(rid, "uptime"))
            a.close()
            return b.read_reply(rid, 60 * TIMEOUT_SCALE), b.discarded
    except socket.timeout:
        raise Failure("the first client's requests got no reply") from None
    finally:
        a.close()


def half_line(v):
    """Finding 1: a client that timed out mid-line left `upt`; the next
    client's `uptime` used to arrive as `uptuptime`."""
    with client(v) as a:
        a.send_raw(b"upt")
    with client(v) as b:
        check_uptime(b.command("uptime"), "after a half line")


# short lines with long replies, so the guest is still answering when the
# next client connects
GARBAGE = b"\x00\xff\x0b\r" + b"\x0b\n" * 20 + b"\x1b[2Jgarbage\n"
GARBAGE_REPLIES = {"ERR invalid byte 0x00 at column 1", "ERR invalid byte 0x0b at column 1",
                   "ERR invalid byte 0x1b at column 1"}


def late_reply_binary(v):
    """Finding 1: after a client sent binary bytes and left, the next `uptime`
    got `ERR invalid byte 0x0b at column 1`. The guest is still answering the
    garbage when the next client connects; those replies are untagged and set
    aside, never taken for its own."""
    reply, discarded = next_client_while_busy(v, GARBAGE * 500, 1)
    check_uptime(reply, "after binary bytes")
    # the first line may be the tail of one QEMU dropped half of while
    # nobody was connected
    stray = set(discarded[1:]) - GARBAGE_REPLIES
    if stray:
        raise Failure(f"set aside lines that are not the garbage's replies: {sorted(stray)}")
    if len(discarded) < 2:
        raise Failure("no whole late reply reached the next client: the case did not happen")
    progress(f"console: {len(discarded)} late replies to the garbage set aside")


def late_reply_after_timeout(v):
    """Finding 1: a client timed out and left with its replies still to come;
    they arrive while the next client waits for its own, and are set aside."""
    with client(v) as a:
        try:
            a.command("help", timeout=0.001)
        except CtlTimeout:
            pass
        else:
            raise Failure("`help` answered within 1 ms: the timeout case did not happen")
    reply, discarded = next_client_while_busy(
        v, b"".join(frame(9000 + i, "help") for i in range(30)), 1)
    check_uptime(reply, "after a client timed out")
    foreign = [s for s in discarded[1:] if not re.match(r"#\d+ ", s)]
    if foreign:
        raise Failure(f"set aside lines that are not tagged replies: {foreign[:3]}")
    if len(discarded) < 2:
        raise Failure("no whole late reply reached the next client: the case did not happen")
    progress(f"console: {len(discarded)} late lines of the timed-out client set aside")


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


def expected(req):
    return [UNKNOWN] if req == "nosuch" else [HELP[req.split()[1]], "OK"]


def overrun(v):
    """Finding 2: with receive flow control off (`flow off`, test kernel), a
    burst of `help` (a long reply for a short request, so the console thread
    falls behind the input) overflows the guest's 1 KiB ring for real: every
    damaged request is answered `ERR overrun` or swallowed, never run as
    something else; every other request gets the exact reply `help` gives
    alone, each id at most once."""
    with client(v) as c:
        alone = c.command("help")
        r = c.command("flow off")
        if not alone.ok or not r.ok:
            raise Failure(f"`help` answered {alone.status}, `flow off` {r.status}")
        want = alone.lines + ["OK"]
        reqs = ["help"] * OVERRUN_BURST
        burst = Burst(c, reqs)
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
    """Finding 2: 1000 `help` lines in one write got 493 replies, 34 of them
    `ERR unknown command 'elp'`. 10,000 framed requests written at once, with
    flow control on (the default): every one gets its exact reply."""
    reqs = [("help uptime", "help mem", "nosuch")[i % 3] for i in range(PIPELINED)]
    t0 = time.monotonic()
    with client(v) as c:
        burst = Burst(c, reqs)
        got, other = burst.run(quiet=30 * TIMEOUT_SCALE, limit=600 * TIMEOUT_SCALE)
    took = time.monotonic() - t0
    progress(f"console: {PIPELINED} pipelined requests answered in {took:.1f} s")
    missing = [rid for rid in burst.ids if rid not in got]
    wrong = [rid for rid, lines in got.items() if lines != expected(burst.ids[rid])]
    if missing or wrong or other:
        raise Failure(f"{len(missing)} unanswered, {len(wrong)} wrong "
                      + (f"(#{wrong[0]}: {got[wrong[0]]}) " if wrong else "")
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
