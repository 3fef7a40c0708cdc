#!/usr/bin/env python3
"""Tests of the harness itself: its mechanics against a fake guest and real firmware.

The fake guest (fakeqemu.py) checks waiting, the control protocol, exit
reasons and cleanup in well under a second each; the firmware cases boot the
real QEMU with OVMF and an ESP that holds only a shell script, so the exact
command line the boot tests use is exercised even before a kernel exists.
Run by ci/test (group `harness`), or alone: `python3 ci/harness/selftest.py`.
"""
import contextlib
import io
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import bench, results  # noqa: E402
from harness.args import Parser  # noqa: E402
from harness.qemu import (READY, ROOT, TIMEOUT_SCALE, Config, Vm, VmExited,  # noqa: E402
                          VmTimeout, domain_images, install_signal_handlers)

FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fakeqemu.py")
CTL = os.path.join(ROOT, "ci/ctl")


class Failure(Exception):
    pass


def check(cond, reason):
    if not cond:
        raise Failure(reason)


@contextlib.contextmanager
def fake_qemu():
    old = os.environ.get("MAPLE_QEMU")
    os.environ["MAPLE_QEMU"] = FAKE
    try:
        yield
    finally:
        if old is None:
            del os.environ["MAPLE_QEMU"]
        else:
            os.environ["MAPLE_QEMU"] = old


def fake_vm(name, words=""):
    # The fake ignores -kernel; any existing file satisfies the harness's check.
    return Vm(Config(firmware="bios", smp=2, cmdline=words, kernel=FAKE), name=name,
              print_tail=False)


def gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def t_fake_boot():
    with fake_vm("fake-boot") as vm:
        vm.wait_for(READY, 10)
        check(vm.find(r"smp: 2 CPUs online"), "no `smp: 2 CPUs online` line")


def t_fake_ctl():
    with fake_vm("fake-ctl") as vm:
        vm.wait_for(READY, 10)
        r = vm.command("help")
        check(r.ok and "shutdown" in r.lines, f"help: {r}")
        for cmd in ("mem", "threads", "uptime"):
            r = vm.command(cmd)
            check(r.ok and r.lines, f"{cmd}: {r}")
        r = vm.command("no-such-command")
        check(not r.ok and r.reason, f"unknown command: {r}")
        r = vm.command(b"A" * 4096)
        check(not r.ok, f"over-long line: {r}")
        r = vm.command(b"\x00\xff\x1b[2J\x80garbage")
        check(not r.ok, f"binary garbage: {r}")
        r = vm.command("uptime")
        check(r.ok, f"uptime after errors: {r}")


def t_fake_shutdown():
    with fake_vm("fake-shutdown") as vm:
        vm.wait_for(READY, 10)
        r = vm.command("shutdown")
        check(r.ok, f"shutdown: {r}")
        rc = vm.wait_exit(10)
        check(rc == 0, f"exit status {rc}")
        check(vm.shutdown_reason == "guest-shutdown", f"QMP reason {vm.shutdown_reason}")


def t_fake_panic():
    with fake_vm("fake-panic") as vm:
        vm.wait_for(READY, 10)
        mark = vm.mark()
        vm.ctl().send_raw(b"panic-test\n")
        vm.wait_for(r"backtrace:", 10, since=mark)
        vm.wait_for(r"halted", 10, since=mark)
        frames = results.parse_backtrace(vm.text(mark))
        check(len(frames) == 3, f"frames {frames}")
        check(all(results.symbolized(f) for f in frames), f"unsymbolized: {frames}")
        extra = vm.ctl().pending(0.5).decode().splitlines()
        check(extra == ["  taking a deliberate #UD"], f"after panic-test, COM2 said {extra}")
        check(vm.alive, "QEMU stopped instead of halting")


def t_fake_ktest():
    with fake_vm("fake-ktest", "test=all fake=ktestfail") as vm:
        vm.wait_for(r"ktest: summary", 10)
        rc = vm.wait_exit(10)
        run = results.parse_ktests(vm.text())
        got = run.tests
        check(run.summary == (2, 1, 0), f"summary {run.summary}")
        check([(n, o) for n, o, _ in got] == [("alpha", "PASS"), ("beta", "PASS"),
                                              ("gamma", "FAIL")],
              f"results {got}")
        check(got[2][2] == "expected 1, got 2", f"reason {got[2][2]!r}")
        check((run.built_in, run.selected, run.count_problem()) == (3, 3, None),
              f"counts {run}")
        check(rc == 0 and vm.shutdown_reason == "guest-shutdown",
              f"exit {rc} {vm.shutdown_reason}")


def t_parse_ktests():
    """The kernel's own line formats, and every way the reported tests can
    differ from the selected ones."""
    running = '[    0.02] ktest: running "{}" (44 tests built in, {} selected)'
    real = results.parse_ktests([running.format("all", 3),
                                 "[    0.028701] ktest: PASS cpu_pkeys (69 us)",
                                 "[    0.03] ktest: FAIL a_b: x: y (3 us)",
                                 "[    0.04] ktest: SKIP c_d: no q35 (host bridge 0x1)",
                                 "ktest: summary 1 passed, 1 failed, 1 skipped"])
    check(real == results.KtestRun([("cpu_pkeys", "PASS", ""), ("a_b", "FAIL", "x: y (3 us)"),
                                    ("c_d", "SKIP", "no q35 (host bridge 0x1)")],
                                   (1, 1, 1), 44, 3), f"kernel-format lines parsed as {real}")
    check(real.count_problem() is None, f"count problem {real.count_problem()}")
    cases = [
        ([running.format("all", 3), "ktest: PASS a (1 us)", "ktest: PASS b (1 us)"],
         "2 tests reported but the kernel selected 3"),
        ([running.format("all", 2), "ktest: PASS a (1 us)", "ktest: PASS a (1 us)"],
         "reported more than once: a"),
        (["ktest: PASS a (1 us)"], "no `ktest: running"),
        # An empty group: the kernel names the entry unknown and selects nothing.
        ([running.format("chaos", 0), f"ktest: FAIL chaos: {results.KTEST_UNKNOWN}"], None),
    ]
    for lines, problem in cases:
        got = results.parse_ktests(lines).count_problem()
        check(got == problem if problem is None else (got or "").startswith(problem),
              f"{lines}: count problem {got!r}, expected {problem!r}")


def t_tally_lines():
    """PASS/FAIL/SKIP lines, the summary's stable prefix, and relaying them."""
    out = io.StringIO()
    t = results.Tally(out)
    t.ok("a/one")
    t.fail("a/two", "broke\n badly")
    t.skip("a/three", "no device")
    check(out.getvalue().splitlines() == ["PASS a/one", "FAIL a/two: broke badly",
                                          "SKIP a/three: no device"], f"lines {out.getvalue()!r}")
    line = t.summary_line()
    check(line == "1 passed, 1 failed, 1 skipped" and results.SUMMARY.match(line),
          f"summary {line!r}")
    check(results.SUMMARY.match("3 passed, 0 failed"), "old summary no longer parses")
    relayed = results.Tally(io.StringIO())
    for s in out.getvalue().splitlines() + ["  a progress line"]:
        relayed.relay(s)
    check((relayed.passed, relayed.failed, relayed.skipped) == (1, 1, 1),
          f"relayed {relayed.summary_line()}")


def t_bench_verdicts():
    """A benchmark target is met only when the whole interquartile range clears it."""
    iv = bench.interval([5, 1, 4, 2, 3])
    check((iv.median, iv.q1, iv.q3, iv.n) == (3, 2, 4, 5), f"interval {iv}")
    cases = [([0.96, 0.97, 0.99], 0.95, True, "met"),
             ([0.90, 0.96, 0.99, 1.0], 0.95, True, "undecided"),  # median clears, IQR not
             ([0.80, 0.85, 0.90], 0.95, True, "missed"),
             ([0.20, 0.25, 0.28], 0.3, False, "met"),
             ([0.20, 0.29, 0.35, 0.40], 0.3, False, "undecided")]
    for values, target, higher, want in cases:
        got = bench.verdict(bench.interval(values), target, higher_is_better=higher)
        check(got == want, f"{values} against {target}: {got}, expected {want}")


def t_domain_images_from_graph():
    """Boot modules are the images the build graph names, not whatever lies in out/domains."""
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "out/domains"))
        for f in ("a.elf", "bad_b.elf", "stale.elf"):
            open(os.path.join(d, "out/domains", f), "w").close()
        with open(os.path.join(d, "build.ninja"), "w") as f:
            f.write("build domains: phony out/domains/a.elf out/domains/bad_b.elf\n")
        names = [os.path.basename(p) for p in domain_images(root=d)]
        check(names == ["a.elf", "bad_b.elf"], f"all images: {names}")
        names = [os.path.basename(p) for p in domain_images(include_bad=False, root=d)]
        check(names == ["a.elf"], f"without bad_*: {names}")


def t_timeout_kills():
    pid = None
    try:
        with fake_vm("fake-hang", "fake=hang") as vm:
            pid = vm.proc.pid
            vm.wait_for(READY, 1)
        raise Failure("wait_for returned on a silent guest")
    except VmTimeout as e:
        # wait_for scales its timeout (MAPLE_TIMEOUT_SCALE) and says so.
        check(f"after {TIMEOUT_SCALE:.0f} s" in str(e), f"message: {e}")
    check(pid and gone(pid), f"QEMU (pid {pid}) still running after the timeout")


def t_early_exit():
    try:
        with fake_vm("fake-exit", "fake=exit") as vm:
            vm.wait_for(READY, 10)
        raise Failure("wait_for returned though QEMU exited")
    except VmExited as e:
        check("exit status 3" in str(e) and "exiting as asked" in str(e), f"message: {e}")


def t_exception_kills():
    pid = None
    try:
        with fake_vm("fake-exc") as vm:
            pid = vm.proc.pid
            vm.wait_for(READY, 10)
            raise KeyError("boom")
    except KeyError:
        pass
    check(pid and gone(pid), f"QEMU (pid {pid}) survived an exception")


def t_ci_ctl():
    def ctl(sock, *args):
        return subprocess.run([CTL, "--socket", sock, "--timeout", "5", *args],
                              capture_output=True, text=True, timeout=30)
    with fake_vm("fake-ci-ctl") as vm:
        vm.wait_for(READY, 10)
        r = ctl(vm.ctl_sock, "help")
        check(r.returncode == 0 and "OK" in r.stdout.split("\n"), f"help: {r}")
        r = ctl(vm.ctl_sock, "bogus", "arg")
        check(r.returncode == 1 and "ERR" in r.stdout, f"bogus: {r}")
        sock = vm.ctl_sock
    r = ctl(sock, "help")
    check(r.returncode == 2 and "no such socket" in r.stderr, f"no VM: {r}")


def t_ci_ctl_usage():
    """Issue 9: `--timeout -1` was accepted and `--bogus` was reported as missing
    arguments. Usage errors name the problem, print the usage line, exit 2."""
    usage = "usage: ci/ctl [--socket PATH] [--timeout SECONDS] COMMAND [ARG...]\n"
    cases = [
        (["--bogus"], "unknown option '--bogus'"),
        (["--bogus", "uptime"], "unknown option '--bogus'"),
        (["--timeout", "-1", "uptime"], "--timeout must be a positive number of seconds, got '-1'"),
        (["--timeout=0", "uptime"], "--timeout must be a positive number of seconds, got '0'"),
        (["--timeout", "nan", "uptime"],
         "--timeout must be a positive number of seconds, got 'nan'"),
        (["--timeout", "1e9", "uptime"], "--timeout must be at most 86400 s, got '1e9'"),
        (["--timeout", "soon", "uptime"], "--timeout takes seconds, got 'soon'"),
        (["--timeout"], "--timeout needs a value"),
        (["--socket", "", "uptime"], "--socket needs a path, got ''"),
        ([], "no command given (try 'ci/ctl help')"),
    ]
    for args, why in cases:
        r = subprocess.run([CTL, *args], capture_output=True, text=True, timeout=30)
        want = f"ci/ctl: {why}\n{usage}"
        check(r.returncode == 2 and r.stderr == want and not r.stdout,
              f"ci/ctl {args}: exit {r.returncode}, stderr {r.stderr!r}; expected 2, {want!r}")


def t_parse_cmocka():
    out = "\n".join([
        "[==========] Running 3 test(s).",
        "[ RUN      ] test_ok", "[       OK ] test_ok",
        "[ RUN      ] test_bad", "[  ERROR   ] --- 1 != 2",
        "[   LINE   ] --- kernel/test/x.c:10: error: Failure!", "[  FAILED  ] test_bad",
        "[ RUN      ] test_crash", "AddressSanitizer: heap-buffer-overflow",
        "[==========] 3 test(s) run.", "[  PASSED  ] 1 test(s).",
        "[  FAILED  ] 1 test(s), listed below:", "[  FAILED  ] test_bad",
    ])
    got = [(n, o) for n, o, _ in results.parse_cmocka(out)]
    check(got == [("test_ok", "OK"), ("test_bad", "FAILED"), ("test_crash", "CRASHED")],
          f"parsed {got}")


def blank_esp(path, script=None):
    subprocess.run(["mformat", "-i", path, "-C", "-T", "65536", "-h", "64", "-s", "32", "::"],
                   check=True, capture_output=True)
    if script:
        nsh = path + ".nsh"
        with open(nsh, "w") as f:
            f.write(script)
        subprocess.run(["mcopy", "-i", path, nsh, "::/startup.nsh"], check=True,
                       capture_output=True)
    return path


def t_ovmf_shell_poweroff():
    # OVMF finds no loader, starts its shell, and the shell runs startup.nsh,
    # which stands in for a kernel: it prints the ready line and powers off.
    with tempfile.TemporaryDirectory() as d:
        esp = blank_esp(os.path.join(d, "esp.img"),
                        "@echo -off\necho \"maple: ready\"\nreset -s\n")
        with Vm(Config(firmware="uefi", esp=esp), name="ovmf-shell", print_tail=False) as vm:
            vm.wait_for(r"^maple: ready", 60)
            rc = vm.wait_exit(30)
            check(rc == 0 and vm.shutdown_reason == "guest-shutdown",
                  f"exit {rc} {vm.shutdown_reason}")


def t_ovmf_timeout_kills():
    with tempfile.TemporaryDirectory() as d:
        esp = blank_esp(os.path.join(d, "esp.img"))
        pid = None
        try:
            with Vm(Config(firmware="uefi", esp=esp), name="ovmf-timeout", print_tail=False) as vm:
                pid = vm.proc.pid
                vm.wait_for(r"BdsDxe: ", 30)
                vm.wait_for(READY, 2)
            raise Failure("found a ready line in bare firmware")
        except VmTimeout:
            pass
        check(pid and gone(pid), f"QEMU (pid {pid}) still running after the timeout")


FAKE_TESTS = [t_fake_boot, t_fake_ctl, t_fake_shutdown, t_fake_panic, t_fake_ktest,
              t_timeout_kills, t_early_exit, t_exception_kills, t_ci_ctl, t_ci_ctl_usage,
              t_parse_cmocka, t_parse_ktests, t_tally_lines, t_bench_verdicts,
              t_domain_images_from_graph]
FIRMWARE_TESTS = [t_ovmf_shell_poweroff, t_ovmf_timeout_kills]


def run(tally, firmware=True):
    with fake_qemu():
        for t in FAKE_TESTS:
            run_one(tally, t)
    if firmware:
        for t in FIRMWARE_TESTS:
            run_one(tally, t)


def run_one(tally, t):
    name = "harness/" + t.__name__[2:].replace("_", "-")
    try:
        t()
    except (Failure, AssertionError) as e:
        tally.fail(name, e)
    except Exception as e:  # a harness bug shows up here, named
        tally.fail(name, f"{type(e).__name__}: {e}", getattr(e, "tail", ""))
    else:
        tally.ok(name)


if __name__ == "__main__":
    p = Parser("ci/harness/selftest.py", __doc__)
    p.add_argument("--no-firmware", action="store_true", help="leave out the checks with OVMF")
    a = p.parse_args()
    install_signal_handlers()
    tally = results.Tally()
    run(tally, firmware=not a.no_firmware)
    print(tally.summary_line())
    sys.exit(1 if tally.failed else 0)
