"""unit: every host unit test binary (cmocka, kernel/test/sources) and every
tools/test_*.py (unittest), one line per test case.
"""
import glob
import importlib.util
import os
import re
import subprocess
import traceback
import unittest

from harness import results
from harness.qemu import ROOT, VmError, ninja_inputs

from .common import progress, tally


def run():
    try:
        bins = [os.path.relpath(b, ROOT) for b in ninja_inputs("unit-tests")]
    except VmError as e:
        tally.fail("unit", e)
        return
    progress(f"unit: {len(bins)} binaries")
    if not bins:
        tally.fail("unit", "kernel/test/sources lists no unit tests")
    for path in bins:
        run_unit(path)
    for path in sorted(glob.glob(os.path.join(ROOT, "tools/test_*.py"))):
        run_pytests(path)


def run_unit(path):
    name = "unit/" + os.path.basename(path)
    try:
        r = subprocess.run([os.path.join(ROOT, path)], cwd=ROOT, capture_output=True,
                           text=True, errors="replace", timeout=120, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        tally.fail(name, "did not finish in 120 s")
        return
    except OSError as e:
        tally.fail(name, f"{path}: cannot run: {e.strerror}")
        return
    output = r.stdout + r.stderr
    cases = results.parse_cmocka(r.stdout)
    for case, outcome, detail in cases:
        if outcome == "OK":
            tally.ok(f"{name}/{case}")
        elif outcome == "SKIPPED":
            tally.skip(f"{name}/{case}", results.first_failure_line(detail) or "cmocka skip")
        else:
            why = results.first_failure_line(detail) or outcome.lower()
            if outcome == "CRASHED":
                why = f"crashed (exit status {r.returncode}): " + (
                    first_sanitizer_line(r.stderr) or why)
            tally.fail(f"{name}/{case}", why)
    bad = any(o not in ("OK", "SKIPPED") for _, o, _ in cases)
    if not cases:
        tally.fail(name, f"no cmocka results (exit status {r.returncode})",
                   indent(output.splitlines()[-15:]))
    elif r.returncode != 0 and not bad:
        tally.fail(name, f"all cases passed but the binary exited with status {r.returncode}",
                   indent(output.splitlines()[-15:]))


class TallyResult(unittest.TestResult):
    """unittest's outcomes as tally lines: one PASS or FAIL per test case."""

    def __init__(self, prefix):
        super().__init__()
        self.prefix = prefix

    def name(self, test):
        method = getattr(test, "_testMethodName", None)
        if method:
            return f"{self.prefix}/{type(test).__name__}.{method}"
        # A class or module fixture failed: unittest names it `setUpClass (module.Class)`.
        m = re.match(r"(\w+) \((?:.*\.)?(\w+)\)$", test.id())
        return f"{self.prefix}/{m.group(2)}.{m.group(1)}" if m else f"{self.prefix}/{test.id()}"

    def report(self, test, err):
        tb = err[2]
        while tb and "__unittest" in tb.tb_frame.f_globals:  # unittest's own frames
            tb = tb.tb_next
        lines = traceback.format_exception(err[0], err[1], tb)
        why = str(err[1]).strip().splitlines()
        tally.fail(self.name(test), why[0] if why else err[0].__name__,
                   indent("".join(lines).splitlines()[-15:]))

    def addSuccess(self, test):
        super().addSuccess(test)
        tally.ok(self.name(test))

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.report(test, err)

    def addError(self, test, err):
        super().addError(test, err)
        self.report(test, err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        tally.skip(self.name(test), reason)

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        tally.fail(self.name(test), "passed, but is marked as an expected failure")

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        tally.ok(self.name(test))


def run_pytests(path):
    """Run a Python unittest module in this process, one tally line per case."""
    stem = os.path.splitext(os.path.basename(path))[0]
    name = f"unit/{stem}"
    try:
        spec = importlib.util.spec_from_file_location(f"maple_{stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    except Exception as e:  # the module itself is broken: one failure for all of it
        tally.fail(name, f"cannot load {os.path.relpath(path, ROOT)}: {type(e).__name__}: {e}")
        return
    result = TallyResult(name)
    suite.run(result)
    if not result.testsRun:
        tally.fail(name, "ran no tests")


def first_sanitizer_line(stderr):
    for line in stderr.splitlines():
        if "Sanitizer" in line or "runtime error" in line:
            return line.strip()
    return ""


def indent(lines):
    return "\n".join("    | " + s for s in lines)
