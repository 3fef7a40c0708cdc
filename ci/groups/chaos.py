"""chaos: the chaos_* ktests (`test=chaos test_stay`, BIOS, 2 CPUs): each passes,
all that were selected report, and the console still answers `mem` and
`domains` afterwards; a SKIP while no chaos_* test is built in.
"""
from harness import results
from harness.qemu import TEST_KERNEL, Config, VmError, domain_images

from .common import KTEST_IDLE, KTEST_TIMEOUT, check_ktest_run, ctl_ok, tally, test, vm


CHAOS = "chaos"  # `test=chaos` selects every ktest named chaos_*


def chaos_console(v):
    """After the chaos tests the kernel still serves its console."""
    for cmd in ("mem", "domains"):
        ctl_ok(v, cmd)


def run():
    name = f"{CHAOS}/bios"
    try:
        cfg = Config(firmware="bios", smp=2, cmdline=f"test={CHAOS} test_stay",
                     kernel=TEST_KERNEL, modules=domain_images())
        with vm(name, cfg) as v:
            v.wait_for(results.KTEST_SUMMARY.pattern, KTEST_TIMEOUT, what="`ktest: summary`",
                       idle=KTEST_IDLE)
            run = results.parse_ktests(v.text())
            # No chaos_* test built in: the kernel selects none and names the
            # group unknown. Anything else is checked like any ktest run.
            if run.selected == 0 and run.unknown() == [CHAOS] and len(run.tests) == 1:
                tally.skip(name, f"no {CHAOS}_* ktest is built in "
                           f"({run.built_in} tests are)")
                return
            test(name, check_ktest_run, name, v, report_pass=False)
            test(f"{CHAOS}/console-after", chaos_console, v)
    except VmError as e:
        tally.fail(name, e, e.tail)
