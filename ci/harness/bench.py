"""What the bench/ scripts share: setup and build, result files, and verdicts
that survive a rerun.

A benchmark boots several times and reduces each boot (or each pair of
adjacent phases or boots) to a ratio; the ratios' median and interquartile
range (IQR) are what it reports. A target counts as met only when the whole
IQR clears it, as missed only when the whole IQR falls short, and as
undecided otherwise: one lucky boot cannot turn a verdict. Result files are
named by date and time (UTC), so a rerun adds a file and never overwrites one,
and each holds every boot's raw numbers with the machine, QEMU and commit.
"""
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass

from .qemu import ROOT

RESULTS = os.path.join(ROOT, "bench/results")
MACHINE_KEYS = ("date", "cpu", "cores", "host os", "accel", "qemu", "commit")


def setup_and_build(prog, no_setup, no_build):
    """Run ci/setup and ci/build unless told not to; exit naming the step that failed."""
    for step, skip in (("ci/setup", no_setup), ("ci/build", no_build)):
        if not skip and subprocess.run([os.path.join(ROOT, step)], cwd=ROOT).returncode != 0:
            sys.exit(f"{prog}: {step} failed")


def result_path(kind, info, ext):
    """bench/results/<kind>-<date>-<time>.<ext>, from machine()'s stamp."""
    os.makedirs(RESULTS, exist_ok=True)
    return os.path.join(RESULTS, f"{kind}-{info['stamp']}.{ext}")


def machine_table(info):
    """The machine a result was measured on, as markdown table lines."""
    return ["| machine | |", "|---|---|"] + [f"| {k} | {info[k]} |" for k in MACHINE_KEYS]


@dataclass
class Interval:
    """The median and interquartile range of n ratios."""
    median: float
    q1: float
    q3: float
    n: int

    def text(self, fmt="{:.2f}"):
        """'median (IQR q1 to q3, n=N)', each number through fmt."""
        return (f"{fmt.format(self.median)} (IQR {fmt.format(self.q1)} to "
                f"{fmt.format(self.q3)}, n={self.n})")


def interval(values):
    """The Interval of values; a single value is its own interval."""
    values = sorted(values)
    if not values:
        raise ValueError("no values")
    if len(values) == 1:
        return Interval(values[0], values[0], values[0], 1)
    q1, med, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return Interval(med, q1, q3, len(values))


def verdict(iv, target, higher_is_better=True):
    """'met' only when the whole interquartile range clears the target,
    'missed' when all of it falls short, else 'undecided'."""
    lo, hi = (iv.q1, iv.q3) if higher_is_better else (-iv.q3, -iv.q1)
    goal = target if higher_is_better else -target
    if lo >= goal:
        return "met"
    if hi < goal:
        return "missed"
    return "undecided"


def sample_ms(points):
    """The median time between two samples of a series of (t in s, ...), in ms."""
    return statistics.median((b[0] - a[0]) * 1000 for a, b in zip(points, points[1:]))


def plot(points, base, title, ylabel):
    """A throughput timeline across crashes: points are (t in s, rate, crash at this sample).
    Writes base-series.csv, and base.png when gnuplot is there (crashes marked at the foot);
    returns the files written."""
    with open(base + "-series.csv", "w") as f:
        f.write("t_s,per_s,crash\n")
        for t, r, crash in points:
            f.write(f"{t:.3f},{r:.0f},{int(crash)}\n")
    written = [base + "-series.csv"]
    try:
        cairo = subprocess.run(["gnuplot", "-e", "set terminal pngcairo"],
                               capture_output=True).returncode == 0
        script = "\n".join([
            "set terminal pngcairo size 1000,420 noenhanced" if cairo
            else "set terminal png size 1000,420",
            f"set output '{base}.png'",
            "set datafile separator ','",
            f"set title '{title}'",
            "set xlabel 'seconds'",
            f"set ylabel '{ylabel} (samples every {sample_ms(points):.0f} ms)'",
            "set key top right", "set yrange [0:*]",
            f"plot '{base}-series.csv' every ::1 using 1:2 with lines title 'throughput', "
            f"'' every ::1 using 1:($3 > 0 ? 0 : 1/0) with points pt 9 ps 1.2 title 'crash'",
        ])
        r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
        if r.returncode == 0:
            written.append(base + ".png")
    except OSError:
        pass
    return written
