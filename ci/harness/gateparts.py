"""Where the gate's cycles go, for `bench/xcall --hosted --native-no-keys`
(docs/bench-xcall.md, "Where the gate's cycles go"): the `part` lines that
`maple-hosted bench --nop-wrpkru` prints (hosted/bench.c, hosted/bench_parts.S),
read and turned into one table per sitting. Two kinds of figure:

- in context: the null call again in the same process with the thread's
  clear_vectors at each level (`xcall-null-vectors-LEVEL`); a level's cost is
  its null call minus the one with no zeroing (`keep`), each run's own;
- alone: each piece between the same TSC reads, minus the empty call and
  return (`call-return`) every piece is called through, times how often a null
  call runs it. Pieces alone overlap in the gate and do not add up to it.

Each figure is taken per run, then median and IQR over the runs. Shares are of
the same run's null call at the AVX-512 level, which is what the gate ran on
this CPU before VECTORS_INUSE (the previous sitting's 340 cycles).
"""
import re

from harness.bench import interval

# What the table's figures are, for the results file.
EXPLAINED = ("Per run, then median and IQR over the runs. In context: the null call again in the "
             "same process with the thread's clear_vectors at each level; a level's zeroing is "
             "its null call minus the one without any (keep). Alone: each piece between the "
             "same TSC reads, minus the empty call and return every piece is reached through, "
             "times how often a null call runs it; pieces alone overlap in the gate and do not "
             "add up to it. Shares are of the same run's null call at the AVX-512 level, the "
             "gate this CPU ran before VECTORS_INUSE.")
LINE = re.compile(r"hosted-bench: part (\S+) median (\d+) p99 \d+ raw-median \d+ raw-p99 \d+ "
                  r"samples \d+$")
BEFORE = "xcall-null-vectors-avx512"
NONE = "xcall-null-vectors-keep"

# (part, what it is, times per null call); alone, minus call-return.
ALONE = [
    ("x87", "ZERO_X87: FNINIT, 8 FLDZ, FNINIT", 2),
    ("mxcsr", "ZERO_MXCSR: LDMXCSR of 1F80H through the stack", 2),
    ("xmm", "ZERO_XMM: 16 PXOR (only where AVX is off now)", 2),
    ("vzeroall", "VZEROALL", 2),
    ("hi16-zmm", "ZERO_HI16_ZMM: 16 VPXORD of %zmm16-31", 2),
    ("opmask", "ZERO_OPMASK: 8 KXORW of %k0-7", 2),
    ("xgetbv1", "XGETBV with ECX = 1 (XINUSE), new", 2),
    ("rdtsc", "RDTSC and the store of the watchdog's start time (the gate before; none now)", 1),
    ("push-pop6", "six pushes and pops of callee-saved registers", 1),
    ("plain-rmw4", "the gate's four RMWs without LOCK", 1),
    ("gate-rmw4", "the gate's four RMWs as it makes them: `active` LOCKed, the counts plain", 1),
    ("locked-rmw4", "the four RMWs all LOCKed, as the gate made them before", 1),
]


def read(lines):
    """{part: bracket-subtracted median} of one run's part lines."""
    return {m[1]: int(m[2]) for m in map(LINE.match, lines) if m}


def table(parts_per_run):
    """Markdown lines: the attribution over the runs (each a read() dict), or [] when the
    runs printed no part lines."""
    runs = [p for p in parts_per_run if p]
    if not runs:
        return []

    def values(f):
        """f over the runs that printed every part f reads (a CPU without AVX-512, say,
        prints `not measured` for those)."""
        out = []
        for p in runs:
            try:
                out.append(f(p))
            except KeyError:
                pass
        return out

    def share(f):
        xs = values(lambda p: 100 * f(p) / p[BEFORE])
        return f"{interval(xs).median:.0f}%" if xs else ""

    out = ["| part | how | cycles per null call, median (IQR, runs) | share of the null call "
           "at the AVX-512 level |", "|---|---|---|---|"]

    def add(name, how, f):
        xs = values(f)
        if xs:
            out.append(f"| {name} | {how} | {interval(xs).text('{:.0f}')} | {share(f)} |")

    add("null call, AVX-512 level (the gate before)", "in context", lambda p: p[BEFORE])
    add("null call, no vector zeroing", "in context", lambda p: p[NONE])
    for level in ("sse", "avx", "avx512", "inuse"):
        key = f"xcall-null-vectors-{level}"
        add(f"vector zeroing at level {level}, both switches", "in context: minus no zeroing",
            lambda p, key=key: p[key] - p[NONE])
    for part, what, times in ALONE:
        add(f"{what}" + (f", x{times}" if times > 1 else ""), "alone, minus call-return",
            lambda p, part=part, times=times: times * (p[part] - p["call-return"]))
    add("LOCK on the gate's RMWs (the two of `active`)", "alone: gate minus plain",
        lambda p: p["gate-rmw4"] - p["plain-rmw4"])
    add("LOCK on all four RMWs (the gate before)", "alone: locked minus plain",
        lambda p: p["locked-rmw4"] - p["plain-rmw4"])
    return out
