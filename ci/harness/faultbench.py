"""The fault campaign against membdev (bench=faults, kernel/bench/faults.c): one boot, its
lines parsed, and the per-kind table; shared by bench/faults and ci/groups/faults.py.

What the guest prints is documented at the top of kernel/bench/faults.c. run_campaign()
follows the boot line by line (so it can print progress) and stops at `done`, at a kernel
panic (the headline: a fault escaped into the kernel) or when the guest falls silent.
"""
import re
import time

from .qemu import TEST_KERNEL, Config, Vm, domain_images

KINDS = ("pf", "gp", "ud", "de", "pk", "kill", "flip-code", "flip-entry", "flip-data",
         "flip-stack")
FAULT = re.compile(r"bench: faults n=(\d+) kind=([\w-]+) outcome=(crashed|latent)"
                   r"(?: at=\+(0x[0-9a-f]+|0) bit=(\d))? serving_us=(\d+) errors=(-?\d+) "
                   r"lost=(-?\d+)$")
FAILED = re.compile(r"bench: faults (?:n=(\d+) kind=([\w-]+) .*)?failed: (.*)$")
END = re.compile(r"bench: faults end faults=(\d+) errors=(-?\d+) lost=(-?\d+) "
                 r"verified=(\d+) unverified=(\d+)$")
LEAKS = re.compile(r"bench: faults leaks(?: (none)|: (.*)| not checked: (.*))$")
DONE = r"bench: faults done"
PANIC = r"kernel panic on cpu"
ANY = rf"bench: faults (n=|end |leaks|done|failed)|{PANIC}"
PROGRESS_EVERY = 50


def run_campaign(n, seed, window_ms, progress=print, name="bench-faults", log_path=None):
    """Boot once; ({'faults': [(n, kind, outcome, at, bit, serving us, errors, lost)],
    'failed': [line], 'end': (faults, errors, lost, verified, unverified) or None, 'leaks':
    text or None, 'panic': line or None}, seconds the faults took)."""
    cfg = Config(firmware="bios", smp=2, kernel=TEST_KERNEL,
                 modules=domain_images(include_bad=False),
                 cmdline=f"bench=faults faults_n={n} faults_seed={seed} "
                         f"faults_window_ms={window_ms}")
    out = {"faults": [], "failed": [], "end": None, "leaks": None, "panic": None}
    t0 = None
    with Vm(cfg, name=name, log_path=log_path, print_tail=False) as v:
        pos = 0
        while True:
            # Each fault prints a line; two minutes of silence is a hang, not slow TCG.
            hit = v.wait_for(ANY, 300 + n * 30, since=pos, what="the campaign's next line",
                             idle=120)
            pos = hit.index + 1
            line = hit.text.strip()
            if re.search(PANIC, line):
                out["panic"] = line
                break
            if m := FAULT.search(line):
                out["faults"].append((int(m[1]), m[2], m[3], m[4], m[5], int(m[6]), int(m[7]),
                                      int(m[8])))
                t0 = t0 or time.monotonic()
                k = len(out["faults"])
                if k % PROGRESS_EVERY == 0 or k == n:
                    rate = k / max(time.monotonic() - t0, 1e-3)
                    progress(f"{k}/{n} faults, {rate:.1f} faults/s (10,000 would take "
                             f"{10000 / rate / 60:.0f} min)")
            elif m := END.search(line):
                out["end"] = tuple(int(m[i]) for i in range(1, 6))
            elif m := LEAKS.search(line):
                out["leaks"] = "none" if m[1] else (m[2] or f"not checked: {m[3]}")
            elif m := FAILED.search(line):
                out["failed"].append(line[line.index("bench: faults"):])
            elif re.search(DONE, line):
                break
        if out["panic"]:
            out["panic"] += " / " + " / ".join(s.strip() for s in v.text()[pos:pos + 6])
    took = time.monotonic() - t0 if t0 else 0.0
    return out, took


def pct(values, q):
    """The q-th percentile (nearest rank) of values, or None."""
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, -(-len(s) * q // 100) - 1))]


def unfinished(got):
    """The fault that ended the campaign, if one did: (kind, contained). A panic or a lost
    shadow or client is not contained; no new membdev within 20 s is contained but not
    recovered. The guest names the fault on its line; a panic is the fault after the last
    one printed (kinds go in turn)."""
    for line in got["failed"]:
        m = FAILED.search(line)
        if m and m[2]:
            return m[2], "escaped:" not in m[3]
    if got["panic"]:
        return KINDS[len(got["faults"]) % len(KINDS)], False
    return None


def table(got):
    """One row per kind: (kind, injected, contained, crashed, latent, recovered, median ms,
    p90, p99, errors, lost). Recovered: a line printed, which the guest prints only after a
    new membdev served and the shadow and client were found the same running domains."""
    faults, last = got["faults"], unfinished(got)
    rows = []
    for kind in KINDS + ("all",):
        fs = [f for f in faults if kind in ("all", f[1])]
        crashed = [f for f in fs if f[2] == "crashed"]
        ms = [f[5] / 1000 for f in crashed]
        extra = last is not None and kind in ("all", last[0])
        rows.append((kind, len(fs) + extra, len(fs) + (extra and last[1]), len(crashed),
                     len(fs) - len(crashed), len(fs), pct(ms, 50), pct(ms, 90), pct(ms, 99),
                     sum(f[6] for f in fs), sum(f[7] for f in fs)))
    return rows
