"""The fault campaign against membdev: one boot of bench=faults (kernel/bench/faults.c) or
one run of `maple-hosted faults` (hosted/faults.c), its lines parsed, and the per-kind table;
shared by bench/faults, ci/groups/faults.py and ci/groups/hostedfaults.py.

What both print is documented at the top of kernel/bench/fault_campaign.c. run_campaign()
follows the boot line by line (so it can print progress) and stops at `done`, at a kernel
panic (the headline: a fault escaped into the kernel) or when the guest falls silent;
run_hosted() follows the process's output the same way, and a process that dies of a
signal is its panic.
"""
import os
import re
import signal
import subprocess
import threading
import time

from .qemu import ROOT, TEST_KERNEL, Config, Vm, VmError, domain_images

HOSTED = os.path.join(ROOT, "out/hosted/maple-hosted")
# maple-hosted's first line: whether domains run under protection keys (hosted/faults.c).
KEYS = re.compile(r"hosted: faults (under protection keys|without protection keys: .*)$")

KINDS = ("pf", "gp", "ud", "de", "pk", "kill", "flip-code", "flip-entry", "flip-data",
         "flip-stack")
FAULT = re.compile(r"bench: faults n=(\d+) kind=([\w-]+) outcome=(crashed|latent|detected)"
                   r"(?: at=\+(0x[0-9a-f]+|0) bit=(\d))? result=(recovered|escaped|unrecovered) "
                   r"serving_us=(\d+) errors=(-?\d+) lost=(-?\d+)$")
FAILED = re.compile(r"bench: faults (?:n=(\d+) kind=([\w-]+) )?failed: (.*)$")
START = re.compile(r"bench: faults start ")
WORKLOAD = re.compile(r"bench: faults workload (\d+) ended by fault (\d+): errors=(-?\d+) "
                      r"lost=(-?\d+)$")
END = re.compile(r"bench: faults end faults=(\d+) workloads=(\d+) errors=(-?\d+) "
                 r"lost=(-?\d+) verified=(\d+) unverified=(\d+)$")
LEAKS = re.compile(r"bench: faults leaks(?: (none)|: (.*)| not checked: (.*))$")
DONE = r"bench: faults done"
PANIC = r"kernel panic on cpu"
# bdclient's own line for each wrong block it reads (domains/test/bdclient): the only count
# left of a client that failed before it could be asked for its counters.
WRONG = re.compile(r"\[bdclient\] bdclient: block \d+ reads wrong")
ANY = (rf"bench: faults (start |n=|workload |end |leaks|done|failed)|{PANIC}|"
       rf"{WRONG.pattern}")
PROGRESS_EVERY = 50


class Lines:
    """What a campaign printed, line by line, in the dict run_campaign returns (the same
    lines in the VM and in maple-hosted: kernel/bench/fault_campaign.c)."""

    def __init__(self, n, progress):
        self.n, self.progress = n, progress
        self.out = {"faults": [], "workloads": [], "failed": [], "end": None, "leaks": None,
                    "panic": None, "wrong_logged": {}, "done": False, "at": []}
        self.wrong = 0  # bdclient's wrong-block lines since the last fault's line
        self.t0 = self.t1 = None

    def feed(self, line):
        """Take one line; True once the campaign said `done`."""
        out = self.out
        if START.search(line):
            self.t0 = time.monotonic()
        elif WRONG.search(line):
            self.wrong += 1
        elif m := FAULT.search(line):
            if self.wrong:
                out["wrong_logged"][int(m[1])], self.wrong = self.wrong, 0
            out["faults"].append((int(m[1]), m[2], m[3], m[4], m[5], m[6], int(m[7]),
                                  int(m[8]), int(m[9])))
            self.t1 = time.monotonic()
            out["at"].append(self.t1)  # when each fault's line came
            k = len(out["faults"])
            if self.t0 and (k % PROGRESS_EVERY == 0 or k == self.n):
                rate = k / max(self.t1 - self.t0, 1e-3)
                self.progress(f"{k}/{self.n} faults, {rate:.1f} faults/s (10,000 would take "
                              f"{10000 / rate / 60:.1f} min)")
        elif m := WORKLOAD.search(line):
            out["workloads"].append(tuple(int(m[i]) for i in range(1, 5)))
        elif m := END.search(line):
            out["end"] = tuple(int(m[i]) for i in range(1, 7))
        elif m := LEAKS.search(line):
            out["leaks"] = "none" if m[1] else (m[2] or f"not checked: {m[3]}")
        elif m := FAILED.search(line):
            out["failed"].append(line[line.index("bench: faults"):])
        elif re.search(DONE, line):
            out["done"] = True
            return True
        return False

    def took(self):
        return self.t1 - self.t0 if self.t0 and self.t1 else 0.0


def run_campaign(n, seed, window_ms, progress=print, name="bench-faults", log_path=None,
                 flip_at=None):
    """Boot once; ({'faults': [(n, kind, outcome, at, bit, result, serving us, errors,
    lost)], 'workloads': [(workload, ended by fault, errors, lost)], 'failed': [line],
    'end': (faults, workloads, errors, lost, verified, unverified) or None, 'leaks': text
    or None, 'panic': line or None, 'wrong_logged': {fault: wrong-block lines bdclient
    logged while it ran}}, seconds from the campaign's start line to its last fault).
    flip_at, (offset in membdev, bit): every flip-code fault flips that bit there instead
    of a random one, to replay a finding."""
    directed = f" faults_flip_at={flip_at[0]:#x} faults_flip_bit={flip_at[1]}" if flip_at else ""
    # No NVMe disk: membdev's ramdisk is all it uses, and two runs may then boot at once.
    cfg = Config(firmware="bios", smp=2, kernel=TEST_KERNEL, nvme=None,
                 modules=domain_images(include_bad=False),
                 cmdline=f"bench=faults faults_n={n} faults_seed={seed} "
                         f"faults_window_ms={window_ms}{directed}")
    lines = Lines(n, progress)
    with Vm(cfg, name=name, log_path=log_path, print_tail=False) as v:
        pos = 0
        while True:
            # Each fault prints a line; two minutes of silence is a hang, not slow TCG.
            hit = v.wait_for(ANY, 300 + n * 30, since=pos, what="the campaign's next line",
                             idle=120)
            pos = hit.index + 1
            line = hit.text.strip()
            if re.search(PANIC, line):
                lines.out["panic"] = line
                break
            if lines.feed(line):
                break
        if lines.out["panic"]:
            lines.out["panic"] += " / " + " / ".join(s.strip() for s in v.text()[pos:pos + 6])
    return lines.out, lines.took()


def run_hosted(n, seed, window_ms, progress=print, log_path=None, flip_at=None, timeout=None):
    """The same campaign in maple-hosted on this machine (`maple-hosted faults`): the same
    dict and seconds as run_campaign, plus 'keys' (the runtime's line saying whether
    domains ran under protection keys); a runtime that dies of a signal or hangs is the
    'panic' (the host process, not a kernel), counted against the fault after the last
    one printed."""
    argv = [HOSTED, "faults", str(n), str(seed), str(window_ms)]
    if flip_at:
        argv += [f"{flip_at[0]:#x}", str(flip_at[1])]
    lines = Lines(n, progress)
    lines.out["keys"] = None
    log = open(log_path, "w") if log_path else None
    try:
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, errors="replace")
    except OSError as e:
        raise VmError(f"{HOSTED}: cannot run it: {e.strerror} (build it with ninja)") from e
    hung = []

    def kill():
        hung.append(True)
        proc.kill()

    # A fault takes milliseconds; this long is a hang.
    killer = threading.Timer(timeout or 120 + n * 2, kill)
    killer.start()
    try:
        for line in proc.stdout:
            if log:
                log.write(line)
            line = line.rstrip("\n")
            if m := KEYS.search(line):
                lines.out["keys"] = m[0]
            lines.feed(line)
        rc = proc.wait()
    finally:
        killer.cancel()
        if log:
            log.close()
    if hung:
        lines.out["panic"] = "the maple-hosted process hung (killed after the time allowed)"
    elif rc < 0:
        lines.out["panic"] = f"the maple-hosted process died of {signal.Signals(-rc).name}"
    elif rc == 2:
        lines.out["failed"].append("maple-hosted faults exited 2 (a usage or host error)")
    return lines.out, lines.took()


def pct(values, q):
    """The q-th percentile (nearest rank) of values, or None."""
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, -(-len(s) * q // 100) - 1))]


def table(got):
    """One row per kind and one for all: (kind, injected, contained, crashed, latent,
    detected (the shadow's checks found membdev answering wrongly and replaced it), recovered, median ms, p90, p99, errors, lost, unknown). Contained: the shadow and the
    client came through (result not escaped), and a kernel panic counts against the fault
    after the last one printed (kinds go in turn). Times over the faults that crashed
    membdev and recovered. errors and lost sum what the client could still be asked, and
    for a fault after which it could not (it had failed: counted in unknown), lost takes
    the wrong-block lines it logged before it failed (a lower bound)."""
    faults = got["faults"]
    panic_kind = KINDS[len(faults) % len(KINDS)] if got["panic"] else None
    rows = []
    for kind in KINDS + ("all",):
        fs = [f for f in faults if kind in ("all", f[1])]
        panicked = panic_kind is not None and kind in ("all", panic_kind)
        ms = [f[6] / 1000 for f in fs if f[2] == "crashed" and f[5] == "recovered"]
        rows.append((kind, len(fs) + panicked, sum(f[5] != "escaped" for f in fs),
                     sum(f[2] == "crashed" for f in fs), sum(f[2] == "latent" for f in fs),
                     sum(f[2] == "detected" for f in fs), sum(f[5] == "recovered" for f in fs), pct(ms, 50), pct(ms, 90),
                     pct(ms, 99), sum(max(f[7], 0) for f in fs),
                     sum(f[8] if f[8] >= 0 else got["wrong_logged"].get(f[0], 0) for f in fs),
                     sum(f[8] < 0 for f in fs)))
    return rows


def submit_insns(elf):
    """membdev's submit as objdump disassembles it: (address, bytes, text) of each
    instruction, in order (an instruction's continuation line of bytes is not one); [] if
    objdump cannot read elf."""
    try:
        text = subprocess.run(["objdump", "-d", "--disassemble=submit", elf],
                              capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    return [(int(addr, 16), raw.split(), asm.strip()) for addr, raw, asm in
            re.findall(r"^[ \t]*([0-9a-f]+):[ \t]+((?:[0-9a-f]{2} )+)[ \t]*(\S.*)$", text, re.M)]


def submit_insn(elf, asm):
    """(address, length) of the first instruction of membdev's submit whose text matches
    the regular expression asm; None if there is none."""
    for addr, raw, text in submit_insns(elf):
        if re.fullmatch(asm, text):
            return addr, len(raw)
    return None


def membdev_block_size_load(elf):
    """(offset, bit) of finding 6's instruction (docs/bench-faults.md): bit 6 of the low byte
    of the displacement of submit's `mov 0x...(%rip),%rdx` that loads block_size (its 4 last
    bytes), so membdev loads its block size from the word 64 bytes further on and, running
    on, acknowledges writes it put nowhere. Fault 206 of seed 1 before membdev used
    block.h's helpers (membdev+0x1360; +0x1364 since). Read from the build like
    membdev_loop_step; None if not there."""
    at = submit_insn(elf, r"mov\s+0x[0-9a-f]+\(%rip\),%rdx\s+# [0-9a-f]+ <block_size>")
    return (at[0] + at[1] - 4, 6) if at else None


def membdev_op_load(elf):
    """(offset, bit) that makes membdev read each request's op 2 MiB past the request: bit 5
    of the third displacement byte of submit's `mov 0x1008(%rNN),%rNNd` (BlockReq.op). Fault
    2456 of seed 1 before membdev used block.h's helpers (membdev+0x128c; +0x1297 since).
    membdev then serves writes as reads: it copies the old block over the client's write
    buffer and acknowledges it. None if not there."""
    at = submit_insn(elf, r"mov\s+0x1008\(%r\w+\),%r\w+d")
    return (at[0] + at[1] - 2, 5) if at else None


def membdev_deque_len_store(elf):
    """(offset, bit) that turns submit's first load of the lent deque's length (the first
    `mov 0x4(%rNN),%eNN` or `%rNNd` in submit: BlockReq_deque32.len, at offset 4) into a
    store of that register over it: bit 1 of its opcode byte (8b, 89). membdev then writes
    the low half of an address over the client's deque length and serves nothing. Fault
    7156 of seed 1 since membdev uses block.h's helpers (membdev+0x119e;
    docs/bench-faults.md, finding 9). None if not there."""
    for addr, raw, text in submit_insns(elf):
        if re.fullmatch(r"mov\s+0x4\(%r\w+\),%(?:e\w\w|r\d+d)", text) and "8b" in raw:
            return addr + raw.index("8b"), 1
    return None


def membdev_done_reload_stos(elf):
    """(offset, bit) that turns submit's reload of its count of requests done from its
    frame, the REX.W `mov -0xNN(%rbp),%REG` that the count's `lock add %REG,...<completed>`
    follows, into a REX.W `stos %rax,%es:(%rdi)`: bit 5 of its opcode byte (8b, ab).
    membdev then writes 8 bytes at %rdi, where its last memcpy ended (over the first word
    of the block after the last one it wrote), and, its frame now popped once too often,
    crashes on the way out. Fault 4046 of seed 1 made the same flip in submit's epilogue
    (membdev+0x13aa: `mov -0x38(%rbp),%rax`, the return value reloaded), which the build
    since membdev uses block.h's helpers no longer has; this reload is membdev+0x1399
    there. None if not there."""
    insns = submit_insns(elf)
    for (addr, raw, text), (_, _, following) in zip(insns, insns[1:]):
        m = re.fullmatch(r"mov\s+-0x[0-9a-f]+\(%rbp\),%(r\w+)", text)
        adds = rf"lock add\s+%{m[1]},0x[0-9a-f]+\(%rip\)\s+# [0-9a-f]+ <completed>" if m else None
        if m and raw[0] in ("48", "4c") and raw[1] == "8b" and re.fullmatch(adds, following):
            return addr + 1, 5
    return None


def membdev_loop_step(elf):
    """(offset, bit) of the byte that, flipped, makes membdev's request loop in submit step
    by 17 instead of 1: the immediate of its `add $0x1,%rNNd` that a `cmp ...,%rNNd`
    follows, the last such pair: gcc may give the loop a second increment on the path that
    skips a missing request, before the serving one (the build of finding 1 of
    docs/bench-faults.md had both; the flip was in the last). Read from the build with
    objdump, so a new build still hits the same instruction. None if it is not there."""
    insns = submit_insns(elf)
    found = None
    for (addr, raw, asm), (_, _, following) in zip(insns, insns[1:]):
        m = re.fullmatch(r"add\s+\$0x1,%(r\w+d)", asm)
        if m and re.fullmatch(rf"cmp\s+%\w+,%{m[1]}", following):
            found = addr + len(raw) - 1, 4
    return found
