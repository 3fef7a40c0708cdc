"""loader: broken kernels on the UEFI path (bad magic, truncated, overlapping
segments, missing): the loader names the file and the exact defect, and no
kernel starts.
"""
import os
import re
import tempfile

from harness import corrupt
from harness.qemu import KERNEL, LOADER_ERROR, READY, Config, default_cmdline, make_esp

from .common import BOOT_TIMEOUT, Failure, progress, test, vm

KERNEL_PATH = r"\maple\kernel.elf"
# A kernel log line: `[    0.123456] text`.
KERNEL_LINE = r"^\[\s*\d+\.\d+\] "


# The whole reason the loader prints for each defect (efi-loader/file.c and
# kernel/lib/elf_check.c); {size} is the broken kernel's size in bytes.
LOADER_CASES = [
    ("bad-magic", r"bad ELF magic \(not an ELF file\)"),
    ("truncated", r"segment \d+: file bytes 0x[0-9a-f]+\+0x[0-9a-f]+ run past the end of the "
                  r"file \({size} bytes\)"),
    ("overlapping-segments", r"segment \d+ overlaps segment \d+ \(physical\)"),
    ("missing-kernel", r"file not found"),
]


def check_loader(case, expect, workdir):
    with open(KERNEL, "rb") as f:
        good = f.read()
    esp = os.path.join(workdir, f"{case}.img")
    size = None
    if case == "missing-kernel":
        make_esp(esp, default_cmdline())
        files = corrupt.esp_list(esp)
        kernel_files = [p for p in files if p.lower() == "maple/kernel.elf"]
        if not kernel_files:
            raise Failure(f"images/mkesp put no maple/kernel.elf in the ESP (has {files})")
        corrupt.esp_delete(esp, kernel_files[0])
    else:
        bad = os.path.join(workdir, f"{case}.elf")
        data = corrupt.MUTATIONS[case](good)
        with open(bad, "wb") as f:
            f.write(data)
        size = len(data)
        make_esp(esp, default_cmdline(), kernel=bad)
    with vm(f"loader/{case}", Config(firmware="uefi", smp=1, esp=esp)) as v:
        start = v.wait_for(r"efi-loader: start", BOOT_TIMEOUT, what="`efi-loader: start`")
        hit = v.wait_for(LOADER_ERROR, 60, since=start.index, fail=READY,
                         what="the loader's error line")
        path, reason = hit.match.group(1), hit.match.group(2)
        progress(f"loader {case}: {hit.text.strip()}")
        if path != KERNEL_PATH:
            raise Failure(f"error names {path}, not {KERNEL_PATH}", v.tail())
        expect = expect.format(size=size)
        if not re.fullmatch(expect, reason.strip()):
            raise Failure(f"reason `{reason}` is not /{expect}/", v.tail())
        # The loader has returned to the firmware; give a wrongly started kernel a
        # moment to show itself.
        v.wait_quiet(1.0, timeout=5)
        started = v.find(KERNEL_LINE + "|" + READY, since=start.index)
        if started:
            raise Failure(f"the kernel started anyway: `{started[0].text.strip()}`", v.tail())


def run():
    with tempfile.TemporaryDirectory(prefix="maple-loader-") as d:
        for case, expect in LOADER_CASES:
            test(f"loader/{case}", check_loader, case, expect, d)
