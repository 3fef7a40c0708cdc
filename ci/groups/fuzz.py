"""fuzz: the libFuzzer targets (ASan + UBSan) for the ELF checker, relocator and
symbolizer and for the boot manifest parser: every committed regression input
once, then a seeded run of about 10 s each from the real images.
"""
import os
import tempfile

from harness import fuzz
from harness.qemu import ROOT, VmError

from .common import Failure, progress, tally, test

# Seconds of fuzzing per target in ci/test; tools/fuzz-elf runs longer.
SECONDS = {"fuzz_elf": 12, "fuzz_bootmanifest": 6}


def check(o):
    if not o.ok:
        where = f" (input saved as {o.crash_file})" if o.crash_file else ""
        raise Failure(o.summary + where, "\n".join("    | " + s for s in o.detail.splitlines()))
    return o


def regression(target):
    o = check(fuzz.run_inputs(target, fuzz.regression_inputs(target)))
    progress(f"fuzz {target}: regression inputs: {o.summary}")


def bounded(target, workdir):
    seconds = SECONDS.get(target, 5)
    progress(f"fuzz {target}: {seconds} s from the real images, seed 1")
    o = check(fuzz.fuzz(target, seconds, os.path.join(workdir, target),
                        os.path.join(ROOT, "out/fuzz/artifacts", target)))
    progress(f"fuzz {target}: {o.summary}")


def run():
    try:
        targets = fuzz.targets()
    except VmError as e:
        tally.fail("fuzz", e)
        return
    if not targets:
        tally.fail("fuzz", "kernel/test/fuzz/sources lists no targets")
    with tempfile.TemporaryDirectory(prefix="maple-fuzz-") as workdir:
        for target in targets:
            test(f"fuzz/{target}/regression", regression, target)
            test(f"fuzz/{target}", bounded, target, workdir)
