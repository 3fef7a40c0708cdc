"""Running the libFuzzer targets (kernel/test/fuzz/sources, built into
out/fuzz/<target>) for ci/groups/fuzz.py and tools/fuzz-elf.

Two things per target: every committed input (kernel/test/fuzz/corpus/<target>/:
each crash ever found, and seeds no built file provides) run once, and a
seeded, time-bounded fuzzing run that starts from the real images (the
kernel, every domain, the ELF test fixtures) plus those inputs. A crash is
reported by its first sanitizer line and the file libFuzzer saved it to.
"""
import os
import re
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass

from .qemu import ROOT, VmError, ninja_inputs

FUZZ_DIR = os.path.join(ROOT, "out/fuzz")
CORPUS_DIR = os.path.join(ROOT, "kernel/test/fuzz/corpus")
# libFuzzer's status line, e.g. `#32768	pulse  cov: 319 ft: 863 corp: 149/13Mb ... exec/s: 3276`.
STATUS = re.compile(r"^#(\d+)\s+(INITED|pulse|NEW|REDUCE|DONE)\b.*?cov: (\d+)")
DONE = re.compile(r"^Done (\d+) runs in (\d+) second")
CRASH_FILE = re.compile(r"Test unit written to (\S+)")
# What a sanitizer, or libFuzzer itself, says first about a crash.
REPORT = re.compile(r"runtime error:|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)")


class FuzzError(VmError):
    pass


@dataclass
class Outcome:
    ok: bool
    summary: str       # `63506 runs in 41 s, coverage 319` or the crash's first line
    crash_file: str = ""
    detail: str = ""   # the last lines of libFuzzer's output, for a failure


def targets():
    """Every fuzz target's name, from the build graph."""
    return [os.path.basename(f) for f in ninja_inputs("fuzzers")]


def binary(target):
    path = os.path.join(FUZZ_DIR, target)
    if not os.path.exists(path):
        raise FuzzError(f"out/fuzz/{target}: not built (run ci/build; it needs clang-14 and "
                        "libclang-rt-14-dev from ci/setup)")
    return path


def regression_inputs(target):
    d = os.path.join(CORPUS_DIR, target)
    return sorted(os.path.join(d, f) for f in os.listdir(d)) if os.path.isdir(d) else []


def seed_files(target):
    """The real inputs a target starts from, besides its regression inputs."""
    if target != "fuzz_elf":
        return []
    files = [os.path.join(ROOT, "out/kernel/kernel.elf")]
    files += ninja_inputs("domains") + ninja_inputs("test-fixtures")
    missing = [f for f in files if not os.path.exists(f)]
    if missing:
        raise FuzzError(f"{os.path.relpath(missing[0], ROOT)}: not built (run ci/build)")
    return files


def outcome(proc_out, status):
    """An Outcome from libFuzzer's combined output and exit status."""
    lines = proc_out.splitlines()
    crash = next((m.group(1) for m in map(CRASH_FILE.search, lines) if m), "")
    report = next((s.strip() for s in lines if REPORT.search(s)), "")
    done = next((m for m in map(DONE.match, lines) if m), None)
    cov = [m.group(3) for m in map(STATUS.match, lines) if m]
    if status == 0 and not report:
        runs = f"{done.group(1)} runs in {done.group(2)} s" if done else "every input ran"
        return Outcome(True, runs + (f", coverage {cov[-1]}" if cov else ""))
    why = report or f"libFuzzer exited with status {status}"
    return Outcome(False, why, os.path.relpath(crash, ROOT) if crash.startswith(ROOT) else crash,
                   "\n".join(lines[-25:]))


def run_inputs(target, files, timeout=120):
    """Each file through the target once (libFuzzer's `target FILE...`)."""
    if not files:
        return Outcome(True, "no regression inputs")
    try:
        r = subprocess.run([binary(target), *files], capture_output=True, text=True,
                           errors="replace", timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return Outcome(False, f"did not finish {len(files)} inputs in {timeout} s")
    o = outcome(r.stdout + r.stderr, r.returncode)
    if o.ok:
        o.summary = f"{len(files)} input(s), no report"
    return o


def fuzz(target, seconds, corpus, artifacts, seed=1, on_status=None):
    """Fuzz `target` for `seconds` from its seeds, keeping new inputs in `corpus`
    and any crash in `artifacts`; on_status(line) gets libFuzzer's status lines."""
    os.makedirs(corpus, exist_ok=True)
    os.makedirs(artifacts, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"maple-{target}-seeds-") as seeds:
        # libFuzzer reads seed directories, not files: link each seed into one.
        for i, f in enumerate(seed_files(target) + regression_inputs(target)):
            os.symlink(f, os.path.join(seeds, f"{i:03d}-{os.path.basename(f)}"))
        argv = [binary(target), f"-seed={seed}", f"-max_total_time={seconds}", "-timeout=10",
                "-rss_limit_mb=2048", f"-artifact_prefix={artifacts}/", "-print_final_stats=1",
                corpus, seeds]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, errors="replace", stdin=subprocess.DEVNULL)
        out = []
        killer = threading.Timer(seconds + 120, proc.kill)  # a hang in libFuzzer itself
        killer.start()
        try:
            for line in proc.stdout:
                out.append(line.rstrip("\n"))
                if on_status and STATUS.match(line):
                    on_status(line.strip())
            status = proc.wait()
        finally:
            killer.cancel()
    return outcome("\n".join(out), status)


def throttled(say, every=10.0):
    """An on_status that passes on at most one status line per `every` seconds."""
    last = [0.0]

    def status(line):
        now = time.monotonic()
        if now - last[0] >= every:
            last[0] = now
            say(line.split(" MS:")[0])  # the mutation details are noise here
    return status
