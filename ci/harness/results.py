"""Reading test outcomes (cmocka, ktest, backtraces) and reporting them.

Every test anywhere in ci/ reports through a Tally: one `PASS name`,
`FAIL name: reason` or `SKIP name: reason` line each, and one closing
`N passed, N failed, N skipped` line, which is what CI reads (its
`N passed, N failed` prefix is stable). A skip is a test that could not run
here and says why; it is counted, never passed.
"""
import re
import sys
from dataclasses import dataclass

# cmocka's standard output: `[ RUN      ] name` then `[       OK ] name`,
# `[  FAILED  ] name`, `[  ERROR   ] name` or `[  SKIPPED ] name`.
CMOCKA_RUN = re.compile(r"^\[ RUN +\] (\S+)")
CMOCKA_END = re.compile(r"^\[ *(OK|FAILED|ERROR|SKIPPED) *\] (\S+)\s*$")
# `ktest: PASS name (12 us)`, `ktest: FAIL name: reason`
KTEST = re.compile(r"ktest: (PASS|FAIL|SKIP) ([^:\s]+)(:?)\s*(.*)$")
KTEST_SUMMARY = re.compile(r"ktest: summary (\d+) passed, (\d+) failed(?:, (\d+) skipped)?")
# `ktest: running "all" (44 tests built in, 44 selected)`
KTEST_RUNNING = re.compile(r'ktest: running "([^"]*)" \((\d+) tests built in, (\d+) selected\)')
# The kernel's answer to a selection entry that names no test and no group.
KTEST_UNKNOWN = "no such test or group"
# A Tally's own lines, as another script's output relayed into this one.
OUTCOME = re.compile(r"^(PASS|FAIL|SKIP) (\S+?)(?:: (.*))?$")
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$")
# `  #1 0xffffffff8010abcd ctl_cmd_panic_test+0x1c`
FRAME = re.compile(r"#(\d+)\s+(0x[0-9a-fA-F]+)(?:\s+(\S+))?")
SYMBOLIZED = re.compile(r"^[A-Za-z_.$][\w.$]*\+0x[0-9a-fA-F]+$")


class Tally:
    """Counts outcomes and prints the lines CI and people read."""

    def __init__(self, out=sys.stdout):
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.failures = []
        self.out = out

    def say(self, line):
        self.out.write(line + "\n")
        self.out.flush()

    def ok(self, name):
        self.passed += 1
        self.say(f"PASS {name}")

    def fail(self, name, reason, detail=""):
        self.failed += 1
        reason = " ".join(str(reason).split()) or "failed"
        self.failures.append(f"{name}: {reason}")
        self.say(f"FAIL {name}: {reason}")
        if detail:
            self.say(detail.rstrip("\n"))

    def skip(self, name, reason):
        self.skipped += 1
        self.say(f"SKIP {name}: {' '.join(str(reason).split()) or 'skipped'}")

    def record(self, name, outcome, reason=""):
        """Count one test by its outcome: PASS, FAIL or SKIP."""
        if outcome == "PASS":
            self.ok(name)
        elif outcome == "SKIP":
            self.skip(name, reason)
        else:
            self.fail(name, reason)

    def relay(self, line):
        """Count a PASS/FAIL/SKIP line another Tally printed; False for other lines."""
        m = OUTCOME.match(line)
        if not m:
            return False
        outcome, name, reason = m.group(1), m.group(2), m.group(3) or ""
        if outcome == "PASS":
            self.ok(name)
        elif outcome == "FAIL":
            self.fail(name, reason)
        else:
            self.skip(name, reason)
        return True

    def summary_line(self):
        return f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped"


def parse_cmocka(output):
    """[(test name, outcome, detail)] from cmocka's standard output, in run order.

    outcome is OK, FAILED, ERROR or SKIPPED; a test that started but never
    ended (the binary crashed inside it) is reported as CRASHED. detail is the
    text cmocka printed between the test's RUN and its outcome (the assert).
    """
    results = []
    current, detail = None, []
    for line in output.splitlines():
        m = CMOCKA_RUN.match(line)
        if m:
            if current is not None:
                results.append((current, "CRASHED", "\n".join(detail)))
            current, detail = m.group(1), []
            continue
        m = CMOCKA_END.match(line)
        if m and current is not None and m.group(2) == current:
            results.append((current, m.group(1), "\n".join(detail)))
            current, detail = None, []
            continue
        if current is not None:
            detail.append(line)
    if current is not None:
        results.append((current, "CRASHED", "\n".join(detail)))
    return results


def first_failure_line(detail):
    """The most telling line of a cmocka failure: the assert, else the last line."""
    lines = [s.strip() for s in detail.splitlines() if s.strip()]
    for s in lines:
        if "error" in s.lower() or "fail" in s.lower() or "assert" in s.lower():
            return s
    return lines[-1] if lines else ""


@dataclass
class KtestRun:
    """What one ktest run printed. tests: [(name, outcome, reason)] in order
    (outcome PASS, FAIL or SKIP), the selection's unknown names included;
    summary: (passed, failed, skipped) or None; built_in and selected: the runner's counts, None if it printed none."""
    tests: list
    summary: tuple = None
    built_in: int = None
    selected: int = None

    def unknown(self):
        """The selection entries the kernel knew no test or group for."""
        return [n for n, outcome, why in self.tests if outcome == "FAIL" and why == KTEST_UNKNOWN]

    def count_problem(self):
        """Why the tests that reported are not the ones selected, or None."""
        if self.selected is None:
            return "no `ktest: running ... (N tests built in, N selected)` line"
        ran = [n for n, _, _ in self.tests if n not in self.unknown()]
        twice = sorted({n for n in ran if ran.count(n) > 1})
        if twice:
            return f"reported more than once: {', '.join(twice)}"
        if len(ran) != self.selected:
            return f"{len(ran)} tests reported but the kernel selected {self.selected}"
        return None


def parse_ktests(lines):
    """The KtestRun the kernel's lines describe."""
    run = KtestRun([])
    for s in lines:
        m = KTEST_RUNNING.search(s)
        if m:
            run.built_in, run.selected = int(m.group(2)), int(m.group(3))
            continue
        m = KTEST_SUMMARY.search(s)
        if m:
            run.summary = (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))
            continue
        m = KTEST.search(s)
        if m:
            outcome = m.group(1)
            reason = ("" if outcome == "PASS" else m.group(4).strip() if m.group(3)
                      else outcome.lower())
            run.tests.append((m.group(2), outcome, reason))
    return run


def parse_backtrace(lines):
    """The frames after the first `backtrace:` line: [(n, address, symbol or None)]."""
    frames, inside = [], False
    for s in lines:
        if not inside:
            inside = "backtrace:" in s
            continue
        m = FRAME.search(s)
        if not m:
            if frames:
                break
            continue
        frames.append((int(m.group(1)), m.group(2), m.group(3)))
    return frames


def symbolized(frame):
    """True for a frame printed as `name+0xoffset`."""
    return bool(frame[2]) and bool(SYMBOLIZED.match(frame[2]))
