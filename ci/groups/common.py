"""What the test groups share: the tally and its progress lines, the Failure
exception, booting a VM with its serial log kept (vm), running one check as a
test (test), waiting for a boot (boot_ready), checking a ktest run, and the
console helpers more than one group uses.
"""
import importlib.util
import os
import time

from harness import corrupt, results
from harness.ctl import CtlError
from harness.qemu import LOADER_ERROR, READY, ROOT, Vm, VmError

LOGS = os.path.join(ROOT, "out/test-logs")


# Timeouts are generous for TCG and never decide a test that would otherwise
# pass; they only stop a hang (see MAPLE_TIMEOUT_SCALE in harness/qemu.py).
BOOT_TIMEOUT = 90
KTEST_TIMEOUT = 900
KTEST_IDLE = 90  # each test prints a line; this long a silence is a hang

tally = results.Tally()
T0 = time.monotonic()


class Failure(Exception):
    """A check failed; `tail` is the serial log's end when a VM was involved."""

    def __init__(self, reason, tail=""):
        super().__init__(reason)
        self.tail = tail


def progress(msg):
    tally.say(f"[{time.monotonic() - T0:6.1f}s] {msg}")


def log_path(name):
    return os.path.join(LOGS, name.replace("/", "-") + ".log")


def vm(name, cfg):
    progress(f"boot {name}: {cfg.describe()}")
    return Vm(cfg, name=name, log_path=log_path(name), print_tail=False)


def test(name, fn, *args, report_pass=True):
    """Run one check; print its PASS/FAIL line (and the serial tail on failure).

    With report_pass=False the check prints its own PASS lines (a suite)
    and only a failure of the whole is reported here.
    """
    try:
        fn(*args)
    except (Failure, VmError) as e:
        tally.fail(name, e, e.tail)
    except (corrupt.CorruptError, CtlError) as e:
        tally.fail(name, e)
    except Exception as e:  # a bug in this script: report it as this test's failure
        tally.fail(name, f"{type(e).__name__}: {e}")
    else:
        if report_pass:
            tally.ok(name)


def boot_ready(v, fw):
    """Wait for `maple: ready`; on the UEFI path the loader's error ends it early."""
    fail = LOADER_ERROR if fw == "uefi" else None
    return v.wait_for(READY, BOOT_TIMEOUT, fail=fail, what="`maple: ready`")


def checks_on_one_boot(group, cfg, checks, *args):
    """Boot cfg on BIOS and run each (name, fn) of checks on that one machine in
    order, fn(v, *args), one PASS/FAIL line each as group/name; if the machine
    itself fails, the checks it did not reach fail as not run."""
    done = 0
    try:
        with vm(f"{group}/bios", cfg) as v:
            boot_ready(v, "bios")
            for name, fn in checks:
                done += 1
                try:
                    fn(v, *args)
                except (Failure, VmError, CtlError) as e:
                    tally.fail(f"{group}/{name}", e, getattr(e, "tail", ""))
                else:
                    tally.ok(f"{group}/{name}")
    except VmError as e:
        for name, _ in checks[done:]:
            tally.fail(f"{group}/{name}", f"not run: {e}")
        tally.say(e.tail)


def check_ktest_run(name, v):
    """Record each ktest's line as name/test, then check the run as a whole:
    the kernel's summary matches its lines, and every test it selected (by its
    own count) reported exactly once. Returns the parsed run."""
    run = results.parse_ktests(v.text())
    for test_name, outcome, reason in run.tests:
        tally.record(f"{name}/{test_name}", outcome, reason)
    counts = tuple(sum(1 for _, o, _ in run.tests if o == want)
                   for want in ("PASS", "FAIL", "SKIP"))
    if run.summary != counts:
        raise Failure(f"kernel's summary {run.summary} does not match its PASS/FAIL/SKIP lines "
                      f"({counts[0]} passed, {counts[1]} failed, {counts[2]} skipped)",
                      v.tail())
    problem = run.count_problem()
    if problem:
        raise Failure(problem, v.tail())
    return run


def ktest_outcomes(name, v, want):
    """Wait for the kernel's `ktest: summary`, record the run as check_ktest_run
    does, and require exactly the outcomes want ({test: "PASS", ...}): a test
    that did not run, or ran but should not have, fails the check too."""
    v.wait_for(results.KTEST_SUMMARY.pattern, KTEST_TIMEOUT, what="`ktest: summary`",
               idle=KTEST_IDLE)
    run = check_ktest_run(name, v)
    got = {n: outcome for n, outcome, _ in run.tests}
    if got != want:
        raise Failure(f"{name}: {got}, want {want}", v.tail())
    return run


# --- the control console ----------------------------------------------------

def ctl_ok(v, cmd):
    r = v.command(cmd)
    if not r.ok:
        raise Failure(f"`{cmd}` answered {r.status}")
    if cmd != "help" and not r.lines:
        raise Failure(f"`{cmd}` answered OK with no lines")
    if cmd == "help":
        missing = [c for c in ("help", "mem", "threads", "uptime", "shutdown")
                   if not any(line.split() and line.split()[0] == c for line in r.lines)]
        if missing:
            raise Failure(f"help does not list {', '.join(missing)}")


def domain_row(v, name):
    """The `domains` line for name, split into words, or None."""
    r = v.command("domains")
    if not r.ok:
        raise Failure(f"`domains` answered {r.status}")
    for line in r.lines:
        words = line.split()
        if len(words) > 2 and words[1] == name:
            return words
    return None


def expect_state(v, name, state, reason=None, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        row = domain_row(v, name)
        if row and row[2] == state and (reason is None or reason in " ".join(row)):
            return
        if time.monotonic() > deadline:
            raise Failure(f"{name} is {' '.join(row) if row else 'not listed'}; expected {state}"
                          + (f" with '{reason}'" if reason else ""), v.tail())
        time.sleep(0.2)


def expect_reply(v, cmd, ok):
    r = v.command(cmd)
    if r.ok != ok:
        raise Failure(f"`{cmd}` answered {r.status}, expected {'OK' if ok else 'ERR'}")


# Each fault `inject` knows and the exact fault the kernel's failure line names
# (the x86 exception and its error code): pf reads address 0 (not present, user:
# 0x4); gp reads a non-canonical address; pk reads the domain table (TRUSTED)
# with the domain's rights: a user-mode read of a present page refused by its
# protection key, P|U|PK = 0x25. Only that: a fault delivered inside the gate's
# code (which holds TRUSTED rights) would read without fault and meet the stub's
# ud2, a bug docs/recovery.md records as fixed.
INJECTED = {"pf": r"#PF at 0 \(error 0x4\)", "gp": r"#GP \(error 0\)", "ud": r"#UD \(error 0\)",
            "de": r"#DE \(error 0\)", "pk": r"#PF at 0x[0-9a-f]+ \(error 0x25\)"}


def idl_module(stem):
    """The module tools/idlc generates from domains/idl/<stem>.idl (out/gen/idl/<stem>.py):
    its method numbers and enum members, never written here, so reordering the .idl cannot
    break a test."""
    path = os.path.join(ROOT, "out/gen/idl", f"{stem}.py")
    spec = importlib.util.spec_from_file_location(f"idl_{stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def idl_method(stem, interface, method):
    """A method's number, from idl_module(stem)."""
    return getattr(idl_module(stem), f"{interface}_{method}_METHOD")
