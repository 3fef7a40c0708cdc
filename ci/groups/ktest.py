"""ktest: the in-guest suite (`test=all`, the test kernel) on both firmware
paths: every ktest's line, the kernel's summary matching them, all tests built
in selected, and an ACPI power-off after the summary.
"""
from harness import results
from harness.qemu import LOADER_ERROR, TEST_KERNEL, Config, VmError, default_cmdline, domain_images

from .common import KTEST_IDLE, KTEST_TIMEOUT, Failure, check_ktest_run, test, vm


def run_ktests(fw):
    name = f"ktest/{fw}"
    cmdline = (default_cmdline() + " test=all").strip()
    cfg = Config(firmware=fw, smp=2, cmdline=cmdline, kernel=TEST_KERNEL,
                 modules=domain_images())
    with vm(name, cfg) as v:
        fail = LOADER_ERROR if fw == "uefi" else None
        v.wait_for(results.KTEST_SUMMARY.pattern, KTEST_TIMEOUT, fail=fail,
                   what="`ktest: summary`", idle=KTEST_IDLE)
        run = check_ktest_run(name, v)
        if run.selected != run.built_in:
            raise Failure(f"test=all selected {run.selected} of the {run.built_in} tests "
                          "built in", v.tail())
        if not run.tests:
            raise Failure("test=all ran no tests", v.tail())
        try:
            v.wait_exit(30)
        except VmError:
            raise Failure("the kernel did not power off after the summary", v.tail()) from None
        if v.shutdown_reason not in (None, "guest-shutdown"):
            raise Failure(f"QEMU stopped by {v.shutdown_reason}, not an ACPI power-off",
                          v.tail())


def run():
    for fw in ("uefi", "bios"):
        test(f"ktest/{fw}", run_ktests, fw, report_pass=False)
