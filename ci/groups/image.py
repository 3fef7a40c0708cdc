"""image: the production kernel holds no test code: none of the test-only
objects' symbols, no `call` or `panic-test` in `help`, and one line refusing
test= and bench=.
"""
import os
import re
import subprocess

from harness.qemu import KERNEL, ROOT, TEST_KERNEL, Config, ninja_inputs

from .common import Failure, boot_ready, progress, test, vm


# The production kernel's console keeps the operator's commands; the test
# kernel's own (kernel/console/console_test.c) are not there.
OPERATOR_COMMANDS = ("inject", "kill", "destroy", "create", "domains")
TEST_COMMANDS = ("call", "panic-test")
TEST_SYMBOL = re.compile(r"^(ktest|bench)_")
NO_TESTS = (r"maple: test=, bench= ignored: this kernel image has no in-kernel tests or "
            r"benchmarks \(they are in the test image, kernel-test\.elf\)")


def defined_symbols(path):
    """{name: type} of the symbols path defines (nm), globals and statics."""
    r = subprocess.run(["nm", "--defined-only", path], capture_output=True, text=True)
    if r.returncode != 0:
        raise Failure(f"nm {os.path.relpath(path, ROOT)}: {r.stderr.strip()}")
    return {f[2]: f[1] for f in (line.split() for line in r.stdout.splitlines()) if len(f) == 3}


def check_no_test_symbols():
    """No symbol a test-only object defines globally, and no ktest_*/bench_*
    symbol at all, is in the production kernel. The test-only objects are
    what the build graph links into kernel-test.elf and not into kernel.elf."""
    prod_objs = set(ninja_inputs(os.path.relpath(KERNEL, ROOT)))
    test_objs = [o for o in ninja_inputs(os.path.relpath(TEST_KERNEL, ROOT))
                 if o not in prod_objs and not o.endswith(".ksyms.o")]
    if not test_objs:
        raise Failure("kernel-test.elf links no object that kernel.elf does not")
    image = defined_symbols(KERNEL)
    found = sorted(n for n in image if TEST_SYMBOL.match(n))
    for o in test_objs:
        found += sorted(n for n, t in defined_symbols(o).items() if t.isupper() and n in image)
    if found:
        raise Failure(f"out/kernel/kernel.elf holds test code: {', '.join(found[:10])}")
    progress(f"image: {len(test_objs)} test-only objects, none of their symbols in kernel.elf")


def check_production_console():
    """Booted with test= and bench=, the production kernel says once that it
    has no tests, runs none, and its console has no test commands."""
    cfg = Config(firmware="bios", smp=2, cmdline="test=all bench=xcall")
    with vm("image/production-bios", cfg) as v:
        boot_ready(v, "bios")
        v.wait_for(NO_TESTS, 10, what="the line refusing test= and bench=")
        r = v.command("help")
        if not r.ok:
            raise Failure(f"`help` answered {r.status}", v.tail())
        listed = {line.split()[0] for line in r.lines if line.split()}
        extra = [c for c in TEST_COMMANDS if c in listed]
        missing = [c for c in OPERATOR_COMMANDS if c not in listed]
        if extra or missing:
            raise Failure(f"help lists {', '.join(extra) or 'no test command'} and lacks "
                          f"{', '.join(missing) or 'no operator command'}", v.tail())
        r = v.command("call victim 0")
        if r.ok or "unknown command 'call'" not in r.status:
            raise Failure(f"`call` answered {r.status}, not unknown", v.tail())
        v.wait_quiet(1.0)
        ran = v.find(r"ktest: |bench: ")
        if ran or len(v.find(NO_TESTS)) != 1:
            raise Failure(f"{len(v.find(NO_TESTS))} refusal lines; test lines: "
                          f"{[h.text for h in ran[:3]]}", v.tail())


def run():
    test("image/no-test-symbols", check_no_test_symbols)
    test("image/production-console", check_production_console)
