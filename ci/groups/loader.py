"""loader: broken boot images. UEFI: broken kernels (bad magic, truncated,
overlapping segments, missing) and a boot manifest that does not match (a
flipped bit in the kernel, a module, the command line or the manifest itself;
a missing manifest; a module added or removed): the loader names the file and
the exact defect before it loads anything, and no kernel starts. Multiboot: a
kernel whose ELF header names another machine, class or type stops with one
panic line naming it before the kernel reads its boot information.
"""
import hashlib
import os
import re
import tempfile

from harness import corrupt
from harness.qemu import KERNEL, LOADER_ERROR, READY, ROOT, Config, default_cmdline, make_esp

from .common import BOOT_TIMEOUT, Failure, progress, test, vm

KERNEL_PATH = r"\maple\kernel.elf"
MANIFEST_PATH = r"\maple\manifest"
# A kernel log line: `[    0.123456] text`.
KERNEL_LINE = r"^\[\s*\d+\.\d+\] "
# The loader's last line on success, printed once every file is checked and
# the kernel placed (efi-loader/main.c).
LOADED = r"efi-loader: kernel 0x"
# Two small domains: the manifest cases break one and leave the other intact.
MODULES = [os.path.join(ROOT, "out/domains", m) for m in ("xa.elf", "xb.elf")]


# The whole reason the loader prints for each broken kernel (efi-loader/file.c
# and kernel/lib/elf_check.c); {size} is the broken kernel's size in bytes.
KERNEL_CASES = [
    ("bad-magic", r"bad ELF magic \(not an ELF file\)"),
    ("truncated", r"segment \d+: file bytes 0x[0-9a-f]+\+0x[0-9a-f]+ run past the end of the "
                  r"file \({size} bytes\)"),
    ("overlapping-segments", r"segment \d+ overlaps segment \d+ \(physical\)"),
    ("missing-kernel", r"file not found"),
]


def broken_kernel(case, expect, workdir):
    """An ESP whose kernel has the defect `case`: (esp, path named, reason pattern)."""
    esp = os.path.join(workdir, f"{case}.img")
    if case == "missing-kernel":
        make_esp(esp, default_cmdline())
        files = corrupt.esp_list(esp)
        kernel_files = [p for p in files if p.lower() == "maple/kernel.elf"]
        if not kernel_files:
            raise Failure(f"images/mkesp put no maple/kernel.elf in the ESP (has {files})")
        corrupt.esp_delete(esp, kernel_files[0])
        return esp, KERNEL_PATH, expect
    with open(KERNEL, "rb") as f:
        data = corrupt.MUTATIONS[case](f.read())
    bad = os.path.join(workdir, f"{case}.elf")
    with open(bad, "wb") as f:
        f.write(data)
    make_esp(esp, default_cmdline(), kernel=bad)
    return esp, KERNEL_PATH, expect.format(size=len(data))


def sha(data):
    return hashlib.sha256(data).hexdigest()


def mismatch(got, manifest_hex):
    """The reason for a file whose bytes are `got` where the manifest says manifest_hex."""
    return re.escape(f"SHA-256 {sha(got)[:16]}... does not match the manifest's "
                     f"{manifest_hex[:16]}...")


def loader_path(name):
    return "\\" + name.replace("/", "\\")


def flip_file(esp, name, offset, bit, workdir):
    """Flip one bit of `name` on the ESP: (path named, reason pattern)."""
    good = corrupt.esp_read(esp, name, workdir)
    bad = corrupt.flip_bit(good, offset % len(good), bit)
    corrupt.esp_write(esp, name, bad, workdir)
    return loader_path(name), mismatch(bad, sha(good))


def manifest_digit(esp, workdir):
    """The manifest's text and the offset of the first decimal digit of the kernel's hash."""
    text = corrupt.esp_read(esp, "maple/manifest", workdir)
    line2 = text.index(b"\n") + 1
    if not text[line2:].split(b"  ")[1].startswith(b"kernel.elf\n"):
        raise Failure(f"images/mkesp's manifest has no kernel.elf on line 2: {text[:200]!r}")
    i = next(i for i in range(64) if text[line2 + i:line2 + i + 1].isdigit())
    return text, line2 + i, i


def kernel_bit(esp, workdir):
    return flip_file(esp, "maple/kernel.elf", 0x12345, 3, workdir)


def module_bit(esp, workdir):
    return flip_file(esp, "maple/modules/xb.elf", 0x40, 0, workdir)


def cmdline_bit(esp, workdir):
    return flip_file(esp, "maple/cmdline", 0, 0, workdir)


def manifest_hash_bit(esp, workdir):
    """Bit 0 of a decimal digit keeps it a digit: the kernel no longer matches."""
    text, at, _ = manifest_digit(esp, workdir)
    bad = corrupt.flip_bit(text, at, 0)
    corrupt.esp_write(esp, "maple/manifest", bad, workdir)
    kernel = corrupt.esp_read(esp, "maple/kernel.elf", workdir)
    line2 = bad.index(b"\n") + 1
    return KERNEL_PATH, mismatch(kernel, bad[line2:line2 + 64].decode())


def manifest_syntax_bit(esp, workdir):
    """Bit 6 of a decimal digit makes it one of 'p'..'y': the manifest is malformed."""
    text, at, i = manifest_digit(esp, workdir)
    bad = corrupt.flip_bit(text, at, 6)
    corrupt.esp_write(esp, "maple/manifest", bad, workdir)
    return MANIFEST_PATH, re.escape(f"line 2: byte {i + 1} of the hash is not a lowercase hex "
                                    f"digit (0x{bad[at]:02x})")


def manifest_missing(esp, workdir):
    corrupt.esp_delete(esp, "maple/manifest")
    return MANIFEST_PATH, "file not found"


def module_added(esp, workdir):
    data = corrupt.esp_read(esp, "maple/modules/xa.elf", workdir)
    corrupt.esp_write(esp, "maple/modules/zz.elf", data, workdir)
    return r"\maple\modules\zz.elf", "not in the manifest"


def module_removed(esp, workdir):
    corrupt.esp_delete(esp, "maple/modules/xb.elf")
    return r"\maple\modules\xb.elf", "listed in the manifest but not on the volume"


MANIFEST_CASES = [
    ("kernel-bit", kernel_bit),
    ("module-bit", module_bit),
    ("cmdline-bit", cmdline_bit),
    ("manifest-hash-bit", manifest_hash_bit),
    ("manifest-syntax-bit", manifest_syntax_bit),
    ("manifest-missing", manifest_missing),
    ("module-added", module_added),
    ("module-removed", module_removed),
]


def broken_volume(case, change, workdir):
    """A good ESP with two modules, then `change` applied to it in place."""
    esp = os.path.join(workdir, f"{case}.img")
    make_esp(esp, default_cmdline(), modules=MODULES)
    path, expect = change(esp, workdir)
    return esp, path, expect


def check_refused(case, build, *args):
    """Boot the ESP `build` makes; the loader must name the file and the exact
    reason, and neither finish loading nor start a kernel."""
    with tempfile.TemporaryDirectory(prefix="maple-loader-") as workdir:
        esp, want_path, expect = build(*args, workdir)
        with vm(f"loader/{case}", Config(firmware="uefi", smp=1, esp=esp)) as v:
            start = v.wait_for(r"efi-loader: start", BOOT_TIMEOUT, what="`efi-loader: start`")
            hit = v.wait_for(LOADER_ERROR, 60, since=start.index, fail=READY,
                             what="the loader's error line")
            path, reason = hit.match.group(1), hit.match.group(2)
            progress(f"loader {case}: {hit.text.strip()}")
            if path != want_path:
                raise Failure(f"error names {path}, not {want_path}", v.tail())
            if not re.fullmatch(expect, reason.strip()):
                raise Failure(f"reason `{reason}` is not /{expect}/", v.tail())
            # The loader has returned to the firmware; give a wrongly started
            # kernel a moment to show itself.
            v.wait_quiet(1.0, timeout=5)
            later = v.find(LOADED + "|" + KERNEL_LINE + "|" + READY, since=start.index)
            if later:
                raise Failure(f"the boot went on: `{later[0].text.strip()}`", v.tail())


# The multiboot path: what boot_intake says of each kernel header QEMU loads
# without reading it (kernel/arch/x86/boot_intake.c, kernel/lib/elf_check.c).
MULTIBOOT_CASES = [
    ("machine-aarch64", "not an x86-64 image (machine 183)"),
    ("class-32", "not a 64-bit ELF file (class 1)"),
    ("type-dyn", "not an executable (ET_EXEC) image (type 3)"),
]
# The first line the kernel logs after boot_intake (kernel/core/main.c).
BOOTING = r"maple: booting via"


def check_multiboot_refused(case, reason):
    with open(KERNEL, "rb") as f:
        data = corrupt.MUTATIONS[case](f.read())
    with tempfile.TemporaryDirectory(prefix="maple-loader-") as workdir:
        bad = os.path.join(workdir, f"{case}.elf")
        with open(bad, "wb") as f:
            f.write(data)
        cfg = Config(firmware="bios", smp=1, kernel=bad)
        with vm(f"loader/multiboot-{case}", cfg) as v:
            want = re.escape(f"kernel panic on cpu 0: boot: kernel image at 0x100000: {reason}")
            hit = v.wait_for(r"kernel panic on cpu \d+: .*", BOOT_TIMEOUT, fail=BOOTING,
                             what="the kernel's panic line")
            progress(f"loader multiboot-{case}: {hit.text.strip()}")
            if not re.fullmatch(want, hit.text.strip()):
                raise Failure(f"`{hit.text.strip()}` is not /{want}/", v.tail())
            v.wait_for(r"maple: halted", 30, what="`maple: halted`")
            later = v.find(BOOTING)
            if later:
                raise Failure(f"the boot went on: `{later[0].text.strip()}`", v.tail())


def run():
    for case, expect in KERNEL_CASES:
        test(f"loader/{case}", check_refused, case, broken_kernel, case, expect)
    for case, change in MANIFEST_CASES:
        test(f"loader/{case}", check_refused, case, broken_volume, case, change)
    for case, reason in MULTIBOOT_CASES:
        test(f"loader/multiboot-{case}", check_multiboot_refused, case, reason)
