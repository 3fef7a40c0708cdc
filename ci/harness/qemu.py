"""Boot Maple (or the firmware alone) under QEMU, for ci/test, bench/ and ci/run-vm.

A Vm is one QEMU process. COM1 comes back through a pipe: a thread copies it
into a log file and keeps every line with the host time its first byte
arrived, so tests wait for lines and benchmarks time them from one record.
COM2 is a unix socket in a private temporary directory (the control
protocol, see ctl.py), and QMP, a second socket there, tells why QEMU stopped
(guest-shutdown for an ACPI power-off, guest-reset for a reset or triple
fault, which -no-reboot turns into an exit).

Nothing outlives a Vm: leaving its `with` block for any reason kills QEMU and
removes the directory, and QEMU is started with PR_SET_PDEATHSIG so that it
dies with this process even if this process is killed outright.
"""
import ctypes
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

from .args import env_scale
from .ctl import CtlClient

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
# The production kernel, and the test kernel: the same plus ktests, in-kernel
# benchmarks and the console's `call` and `panic-test` (kernel/test-sources).
KERNEL = os.path.join(ROOT, "out/kernel/kernel.elf")
TEST_KERNEL = os.path.join(ROOT, "out/kernel/kernel-test.elf")
# Command-line keys only the test kernel acts on (kernel/core/boot_runner.c).
TEST_KEYS = ("test", "bench")
EFI_APP = os.path.join(ROOT, "out/efi-loader/BOOTX64.EFI")
ESP = os.path.join(ROOT, "out/images/esp.img")
MKESP = os.path.join(ROOT, "images/mkesp")
CMDLINE_FILE = os.path.join(ROOT, "images/cmdline")
# ci/run-vm's fixed places, so that ci/ctl finds the VM without being told.
RUN_DIR = os.path.join(ROOT, "out/run")
RUN_CTL_SOCK = os.path.join(RUN_DIR, "ctl.sock")
# The emulated NVMe disk every boot gets (QEMU's `nvme` device, the one the
# NVMe driver domain drives): a sparse raw image created on first use. One
# image for ci/run-vm, the tests and the benchmarks, so the Linux baseline of
# bench/nvme reads the very file Maple does. QEMU locks an image it has open
# for writing, so a second VM on the same image stops at once with QEMU's
# "Failed to get "write" lock" on stderr (shown in the failure report).
NVME_DISK = os.path.join(ROOT, "out/disks/nvme0.img")
NVME_DISK_SIZE = 64 << 20
NVME_SERIAL = "maple-nvme0"
# cache=writeback (QEMU's default, spelled out): writes land in the host page
# cache and a guest Flush becomes fdatasync. Anything that compares against
# this disk (bench/nvme's Linux guest) must pass the same mode.
NVME_CACHE = "writeback"
# Which QEMU a boot runs (Config.qemu; README "Which QEMU"): the distro's
# 7.2 for every test, and 10.0.2 from bookworm-backports, unpacked by
# ci/qemu10 into a cache with a wrapper setting its firmware and modules,
# for the tests of devices 7.2 lacks (igb, the 82576).
QEMU_DISTRO = "distro"
QEMU_10 = "10.0"
QEMU10_DIR = os.environ.get("MAPLE_QEMU10_DIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "maple/qemu-10.0.2")
QEMU10 = os.path.join(QEMU10_DIR, "bin/qemu-system-x86_64")
# 10.0.2 built from Debian's source with Maple's 82599 model (tools/qemu-82599)
# by ci/qemu82599, cached under a key of its inputs: the cache directory's
# name is found by asking the script (`ci/qemu82599 --print-dir`), which
# computes the key without building.
QEMU_82599 = "82599"
QEMUS = (QEMU_DISTRO, QEMU_10, QEMU_82599)

# Every timeout below is sized for TCG on a slow 2-core machine; a slower
# machine sets MAPLE_TIMEOUT_SCALE=2 instead of editing them.
TIMEOUT_SCALE = env_scale("MAPLE_TIMEOUT_SCALE")

READY = r"maple: ready"
# The loader's one-line failure report: `efi-loader: <path>: <reason>`; paths are
# firmware paths and start with a backslash.
LOADER_ERROR = r"efi-loader: (\\[^:]*): (.*)"
ANSI = re.compile(rb"\x1b\[[0-9;=?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\x1b[=>]")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class VmError(Exception):
    """Base of every harness failure. `tail` holds the serial log's end, if any."""

    def __init__(self, message, tail=""):
        super().__init__(message)
        self.tail = tail


class VmTimeout(VmError):
    pass


class VmExited(VmError):
    pass


class VmFailed(VmError):
    """A line that means failure (e.g. the loader's error report) appeared."""


@dataclass
class Accel:
    name: str
    args: list
    reason: str

    def describe(self):
        return f"accel: {self.name} ({' '.join(self.args)}): {self.reason}"


_accel = None


def pick_accel():
    """KVM when the CPU has VMX/SVM and /dev/kvm opens; TCG otherwise. Says why."""
    global _accel
    if _accel is not None:
        return _accel
    kvm = Accel("kvm", ["-accel", "kvm", "-cpu", "host"], "")
    tcg = Accel("tcg", ["-accel", "tcg", "-cpu", "max"], "")
    forced = os.environ.get("MAPLE_ACCEL", "")
    if forced in ("kvm", "tcg"):
        _accel = kvm if forced == "kvm" else tcg
        _accel.reason = f"MAPLE_ACCEL={forced} is set"
        return _accel
    flags = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError as e:
        tcg.reason = f"/proc/cpuinfo: {e.strerror}"
        _accel = tcg
        return tcg
    virt = "vmx" if "vmx" in flags else "svm" if "svm" in flags else None
    if virt is None:
        tcg.reason = "/proc/cpuinfo shows neither vmx nor svm"
        _accel = tcg
        return tcg
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
    except OSError as e:
        tcg.reason = f"/proc/cpuinfo shows {virt} but /dev/kvm: {e.strerror}"
        _accel = tcg
        return tcg
    kvm.reason = f"/proc/cpuinfo shows {virt} and /dev/kvm is usable"
    _accel = kvm
    return kvm


def default_cmdline():
    """The command line the built image carries (images/cmdline), '' if none."""
    try:
        with open(CMDLINE_FILE) as f:
            return f.read().strip()
    except FileNotFoundError:
        return ""


def qemu_path(path):
    """Escape a path for QEMU's comma-separated option syntax."""
    return path.replace(",", ",,")


def need(path, hint="run ci/build"):
    if not os.path.exists(path):
        raise VmError(f"{os.path.relpath(path, ROOT) if path.startswith(ROOT) else path}: "
                      f"not found ({hint})")


def ninja_inputs(target, root=ROOT):
    """The explicit inputs of ninja's `target` (a phony's files, a link's
    objects), as paths under root.

    The build graph, not a directory listing: a file an older build left in
    out/ is not in it, and the `sources` lists are read by tools/configure only.
    """
    try:
        r = subprocess.run(["ninja", "-t", "query", target], cwd=root, capture_output=True,
                           text=True, timeout=60)
    except OSError as e:
        raise VmError(f"ninja: cannot run: {e.strerror} (run ci/setup)") from None
    if r.returncode != 0:
        raise VmError(f"ninja -t query {target}: {r.stderr.strip() or r.stdout.strip()}")
    files, inputs = [], False
    for line in r.stdout.splitlines():
        line = line.strip()
        if line.startswith("input: "):
            inputs = True
        elif line == "outputs:" or line.startswith("|"):  # implicit and order-only follow
            inputs = False
        elif inputs:
            files.append(os.path.join(root, line))
    return files


def domain_images(include_bad=True, root=ROOT):
    """The domain images domains/sources and drivers/sources name (ninja's
    `domains`), for boot modules; the images the loader must refuse (bad_*)
    only when include_bad."""
    images = sorted(f for f in ninja_inputs("domains", root)
                    if include_bad or not os.path.basename(f).startswith("bad_"))
    for f in images:
        need(f)
    return images


def wants_test_kernel(cmdline):
    """Whether cmdline holds a key only the test kernel acts on (test=, bench=)."""
    return any(w.split("=", 1)[0] in TEST_KEYS for w in (cmdline or "").split() if "=" in w)


def make_esp(out, cmdline, kernel=KERNEL, efi_app=EFI_APP, modules=()):
    """Build an ESP image at `out` with images/mkesp, carrying `cmdline`."""
    need(MKESP, "images/mkesp has not landed yet")
    need(efi_app)
    need(kernel)
    cmdfile = out + ".cmdline"
    with open(cmdfile, "w") as f:
        f.write(cmdline + "\n")
    argv = [MKESP, out, efi_app, kernel, cmdfile, *modules]
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60 * TIMEOUT_SCALE)
    except subprocess.TimeoutExpired:
        raise VmError("images/mkesp: did not finish in 60 s") from None
    if r.returncode != 0:
        err = (r.stderr or r.stdout).strip().splitlines()[-5:]
        raise VmError(f"images/mkesp failed (status {r.returncode}): " + " / ".join(err))
    return out


# The least guest memory, in MiB, in which each path boots to `maple: ready`
# with every domain image as a boot module (what ci/run-vm passes), found by
# booting (2026-12-02, QEMU 7.2, TCG, OVMF 2022.11): SeaBIOS boots in 10M,
# and in 8M the kernel panics (`rref: no memory for a 4120 KiB table`);
# OVMF boots in 56M, and in 48M it holds the kernel's load address
# (`efi-loader: \maple\kernel.elf: cannot claim physical memory ...`).
# Below them QEMU may even exit 0 at once without a line of output.
MIN_MEMORY_MIB = {"uefi": 56, "bios": 10}


@dataclass
class Config:
    """What to boot. cmdline None means the image's own (images/cmdline)."""
    firmware: str = "uefi"
    smp: int = 2
    memory: str = "512M"
    cmdline: str = None
    esp: str = None          # UEFI: an ESP image; default out/images/esp.img
    kernel: str = None       # default out/kernel/kernel.elf (on UEFI, in a private ESP)
    modules: list = field(default_factory=list)
    extra: list = field(default_factory=list)
    nvme: str = NVME_DISK    # the NVMe disk image; None attaches no NVMe controller
    qemu: str = QEMU_DISTRO  # QEMU_DISTRO (7.2), QEMU_10 or QEMU_82599

    def __post_init__(self):
        if self.firmware not in ("uefi", "bios"):
            raise VmError(f"firmware {self.firmware!r}: must be uefi or bios")
        if self.qemu not in QEMUS:
            raise VmError(f"qemu {self.qemu!r}: must be one of {', '.join(QEMUS)}")

    def describe(self):
        s = f"{self.firmware}, smp {self.smp}, {self.memory}"
        if self.qemu != QEMU_DISTRO:
            s += f", QEMU {self.qemu}"
        if self.cmdline is not None:
            s += f", cmdline {self.cmdline!r}"
        return s


def nvme_disk(path, size=NVME_DISK_SIZE):
    """Create the sparse NVMe disk image at path if it is missing; return path.

    An existing image is kept as it is (its contents are the disk's), whatever
    its size: the controller reports the size it finds.
    """
    if os.path.exists(path):
        if not os.path.isfile(path):
            raise VmError(f"{path}: not a regular file (the NVMe disk image)")
        return path
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "xb") as f:
            f.truncate(size)
    except FileExistsError:
        pass  # another run created it first
    except OSError as e:
        raise VmError(f"{path}: cannot create the NVMe disk image: {e.strerror}") from None
    return path


def nvme_args(path):
    """QEMU arguments attaching an NVMe controller (serial maple-nvme0) with path as its disk."""
    return ["-drive", f"file={qemu_path(path)},if=none,id=nvme0,format=raw,cache={NVME_CACHE}",
            "-device", f"nvme,serial={NVME_SERIAL},drive=nvme0"]


def qemu82599():
    """The wrapper ci/qemu82599 installs for the current model and patch (it may not exist)."""
    try:
        r = subprocess.run([os.path.join(ROOT, "ci/qemu82599"), "--print-dir"],
                           capture_output=True, text=True)
    except OSError as e:
        raise VmError(f"ci/qemu82599: cannot run it: {e.strerror}") from None
    if r.returncode != 0:
        raise VmError(f"ci/qemu82599 --print-dir: {r.stderr.strip() or 'failed'}")
    return os.path.join(r.stdout.strip(), "bin/qemu-system-x86_64")


def prepare(cfg, workdir):
    """Make per-run files in workdir (VARS copy, custom ESP) and the NVMe disk
    image if it is missing; return (vars, esp)."""
    if cfg.nvme:
        nvme_disk(cfg.nvme)
    if cfg.qemu == QEMU_10 and "MAPLE_QEMU" not in os.environ:
        need(QEMU10, "QEMU 10.0 is fetched by ci/setup (ci/qemu10)")
    if cfg.qemu == QEMU_82599 and "MAPLE_QEMU" not in os.environ:
        need(qemu82599(), "QEMU with the 82599 model is built by ci/setup (ci/qemu82599)")
    if cfg.firmware == "bios":
        need(cfg.kernel or KERNEL)
        for m in cfg.modules:
            need(m, "boot module missing")
        return None, None
    need(OVMF_CODE, "install ovmf: ci/setup")
    need(OVMF_VARS, "install ovmf: ci/setup")
    vars_path = os.path.join(workdir, "OVMF_VARS.fd")
    shutil.copyfile(OVMF_VARS, vars_path)
    esp = cfg.esp
    if esp is None and (cfg.cmdline is not None or cfg.modules or cfg.kernel):
        cmdline = default_cmdline() if cfg.cmdline is None else cfg.cmdline
        esp = make_esp(os.path.join(workdir, "esp.img"), cmdline,
                       kernel=cfg.kernel or KERNEL, modules=cfg.modules)
    esp = esp or ESP
    need(esp)
    return vars_path, esp


def build_command(cfg, com1, ctl_sock, vars_path=None, esp=None, qmp_sock=None):
    """The QEMU argv for cfg. com1 is the argument list that attaches COM1."""
    accel = pick_accel()
    # MAPLE_QEMU swaps in another binary: the harness's self-test uses a fake guest.
    qemu = os.environ.get("MAPLE_QEMU")
    if qemu is None and cfg.qemu == QEMU_10:
        qemu = QEMU10  # prepare() checked that it is there
    elif qemu is None and cfg.qemu == QEMU_82599:
        qemu = qemu82599()
    qemu = qemu or "qemu-system-x86_64"
    cmd = [qemu, "-machine", "q35", "-nodefaults", "-display", "none", "-no-reboot",
           *accel.args, "-smp", str(cfg.smp), "-m", cfg.memory]
    if cfg.firmware == "uefi":
        cmd += ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={qemu_path(OVMF_CODE)}",
                "-drive", f"if=pflash,format=raw,unit=1,file={qemu_path(vars_path)}",
                # snapshot: the image is shared with ninja and other runs; never write it.
                "-drive", f"if=none,id=esp,format=raw,snapshot=on,file={qemu_path(esp)}",
                "-device", "virtio-blk-pci,drive=esp"]
    else:
        cmdline = default_cmdline() if cfg.cmdline is None else cfg.cmdline
        cmd += ["-kernel", cfg.kernel or KERNEL, "-append", cmdline]
        if cfg.modules:
            cmd += ["-initrd", ",".join(cfg.modules)]
    cmd += com1
    cmd += ["-chardev", f"socket,id=ctl,path={qemu_path(ctl_sock)},server=on,wait=off",
            "-serial", "chardev:ctl"]
    if qmp_sock:
        cmd += ["-qmp", f"unix:{qemu_path(qmp_sock)},server=on,wait=off"]
    if cfg.nvme:
        cmd += nvme_args(cfg.nvme)
    return cmd + list(cfg.extra)


def clean_line(raw):
    """Serial bytes to matchable text: no ANSI escapes, no CR, no control bytes."""
    return CONTROL.sub("", ANSI.sub(b"", raw).decode("utf-8", "replace"))


_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def die_with_parent():
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


STALE_TEMPDIR = re.compile(r"^maple-.+-pid(\d+)-\w+$")


def process_alive(pid):
    """True while pid runs; a zombie (killed, not yet reaped) counts as gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def private_tempdir(name):
    """mkdtemp named after its creator's pid, after removing those of dead creators.

    A process killed outright (SIGKILL, OOM) cannot clean up after itself;
    the next run does.
    """
    tmp = tempfile.gettempdir()
    for entry in os.listdir(tmp):
        m = STALE_TEMPDIR.match(entry)
        if m and not process_alive(m.group(1)):
            shutil.rmtree(os.path.join(tmp, entry), ignore_errors=True)
    safe = re.sub(r"[^\w.]", "-", name)
    return tempfile.mkdtemp(prefix=f"maple-{safe}-pid{os.getpid()}-")


class Hit:
    """A matched serial line: its index, host time (s since QEMU start), text, match."""

    def __init__(self, index, time, text, match):
        self.index, self.time, self.text, self.match = index, time, text, match

    def __repr__(self):
        return f"Hit({self.index}, {self.time:.3f}, {self.text!r})"


class Vm:
    """One QEMU run. Use as a context manager; see the module comment."""

    def __init__(self, cfg, name="vm", log_path=None, print_tail=True, tail_lines=40):
        self.cfg = cfg
        self.name = name
        self.log_path = log_path
        self.print_tail = print_tail
        self.tail_lines = tail_lines
        self.proc = None
        self.workdir = None
        self.argv = []
        self.lines = []          # [(seconds since start, text)]
        self.partial = None      # (time, text) of an unfinished last line
        self.eof = False
        self.cond = threading.Condition()
        self.shutdown_reason = None
        self.stderr_text = ""
        self.returncode = None
        self._ctl = None
        self._threads = []
        self._log = None
        self._stderr = None

    # --- lifecycle -------------------------------------------------------

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        if exc is not None and self.print_tail and not isinstance(exc, KeyboardInterrupt):
            sys.stderr.write(self.tail() + "\n")
        return False

    def start(self):
        self.workdir = private_tempdir(self.name)
        vars_path, esp = prepare(self.cfg, self.workdir)
        self.ctl_sock = os.path.join(self.workdir, "ctl.sock")
        self.qmp_sock = os.path.join(self.workdir, "qmp.sock")
        if self.log_path is None:
            self.log_path = os.path.join(self.workdir, "com1.log")
        os.makedirs(os.path.dirname(os.path.abspath(self.log_path)), exist_ok=True)
        self._log = open(self.log_path, "wb")
        self._stderr = open(os.path.join(self.workdir, "qemu.stderr"), "w+b")
        com1 = ["-chardev", "stdio,id=com1,signal=off", "-serial", "chardev:com1"]
        self.argv = build_command(self.cfg, com1, self.ctl_sock, vars_path, esp, self.qmp_sock)
        self.t0 = self.last_output = time.monotonic()
        try:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=self._stderr,
                                         cwd=self.workdir, start_new_session=True,
                                         preexec_fn=die_with_parent)
        except OSError as e:
            raise VmError(f"{self.argv[0]}: cannot start: {e.strerror}") from None
        for fn in (self._read_com1, self._watch_qmp):
            t = threading.Thread(target=fn, name=f"{self.name}-{fn.__name__}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def close(self):
        """Kill QEMU if it still runs, collect its output, remove the temp dir."""
        if self._ctl is not None:
            self._ctl.close()
            self._ctl = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.returncode = self.proc.returncode
            for t in self._threads:
                t.join(5)
            self.proc.stdout.close()
            self.proc = None
        if self._stderr is not None:
            self._stderr.seek(0)
            self.stderr_text = self._stderr.read().decode("utf-8", "replace")
            self._stderr.close()
            self._stderr = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    @property
    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def command_line(self):
        return shlex.join(self.argv)

    # --- COM1 ------------------------------------------------------------

    def _read_com1(self):
        fd = self.proc.stdout.fileno()
        pending, pending_t = b"", None
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            t = time.monotonic() - self.t0
            if not chunk:
                break
            self._log.write(chunk)
            self._log.flush()
            with self.cond:
                self.last_output = time.monotonic()
                if pending_t is None:
                    pending_t = t
                parts = (pending + chunk).split(b"\n")
                for raw in parts[:-1]:
                    self.lines.append((pending_t, clean_line(raw)))
                    pending_t = t
                pending = parts[-1]
                if not pending:
                    pending_t = None
                self.partial = (pending_t, clean_line(pending)) if pending else None
                self.cond.notify_all()
        with self.cond:
            if pending:
                self.lines.append((pending_t, clean_line(pending)))
            self.partial = None
            self.eof = True
            self.cond.notify_all()

    def mark(self):
        """The index of the next line: pass as `since` to wait for newer lines only."""
        with self.cond:
            return len(self.lines)

    def text(self, since=0):
        with self.cond:
            return [t for _, t in self.lines[since:]]

    def find(self, pattern, since=0):
        """Every line (as a Hit) from `since` on matching pattern; no waiting."""
        rx = re.compile(pattern)
        with self.cond:
            return [Hit(i, t, s, m) for i, (t, s) in enumerate(self.lines) if i >= since
                    for m in [rx.search(s)] if m]

    def wait_for(self, pattern, timeout, since=0, fail=None, what=None, partial=False,
                 idle=None):
        """Wait for a COM1 line matching pattern and return its Hit.

        Only complete lines count unless `partial` (for prompts that end in no
        newline). Raises VmFailed when a line matches `fail` first, VmExited
        when QEMU stops first, VmTimeout after timeout seconds, or once COM1
        has been silent for `idle` seconds (both times TIMEOUT_SCALE).
        """
        rx = re.compile(pattern)
        frx = re.compile(fail) if fail else None
        what = what or f"/{pattern}/"
        timeout *= TIMEOUT_SCALE
        idle = idle * TIMEOUT_SCALE if idle else None
        deadline = time.monotonic() + timeout
        pos = since
        with self.cond:
            while True:
                while pos < len(self.lines):
                    t, s = self.lines[pos]
                    m = frx.search(s) if frx else None
                    if m:
                        raise VmFailed(f"{s.strip()} (while waiting for {what})", self.tail())
                    m = rx.search(s)
                    if m:
                        return Hit(pos, t, s, m)
                    pos += 1
                if partial and self.partial:
                    m = rx.search(self.partial[1])
                    if m:
                        return Hit(pos, self.partial[0], self.partial[1], m)
                if self.eof:
                    break
                now = time.monotonic()
                if now >= deadline:
                    raise VmTimeout(f"no {what} on COM1 after {timeout:.0f} s", self.tail())
                if idle and now - self.last_output >= idle:
                    raise VmTimeout(f"no {what} on COM1: silent for {idle:.0f} s",
                                    self.tail())
                self.cond.wait(min(deadline - now, 0.5))
        raise VmExited(f"QEMU stopped before {what}: {self.exit_description()}", self.tail())

    def wait_quiet(self, quiet=0.5, timeout=10.0):
        """Wait until COM1 has been silent for `quiet` s (or QEMU stopped)."""
        deadline = time.monotonic() + timeout * TIMEOUT_SCALE
        with self.cond:
            while not self.eof and time.monotonic() < deadline:
                n, p = len(self.lines), self.partial
                self.cond.wait(quiet)
                if (n, p) == (len(self.lines), self.partial):
                    return

    def wait_exit(self, timeout):
        """Wait for QEMU to stop on its own; return its exit status."""
        timeout *= TIMEOUT_SCALE
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise VmTimeout(f"QEMU still running {timeout:.0f} s later", self.tail()) from None
        for t in self._threads:
            t.join(5)
        return self.proc.returncode

    def exit_description(self):
        """'status 0, guest-shutdown' plus QEMU's own last stderr lines, if any."""
        rc = None
        if self.proc is not None:
            try:
                rc = self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        else:
            rc = self.returncode
        for t in self._threads[1:]:
            t.join(2)
        s = f"exit status {rc}"
        if self.shutdown_reason:
            s += f", {self.shutdown_reason}"
        err = self.stderr_lines()
        if err:
            s += ": " + " / ".join(err[-3:])
        return s

    def read_stderr(self):
        if self.proc is None:
            return self.stderr_text
        try:
            with open(self._stderr.name, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stderr_lines(self):
        # QEMU's note that we terminated it is no news.
        return [s for s in self.read_stderr().strip().splitlines()
                if "terminating on signal" not in s]

    def tail(self, n=None):
        """The last lines of COM1 (and QEMU's stderr), indented, for failure reports."""
        n = n or self.tail_lines
        with self.cond:
            lines = [s for _, s in self.lines[-n:]]
            if self.partial:
                lines.append(self.partial[1])
        where = "" if self.log_path.startswith(tempfile.gettempdir()) else f" ({self.log_path})"
        out = [f"    --- {self.name}: last {len(lines)} lines of COM1{where} ---"]
        out += ["    | " + s for s in lines] or ["    | (nothing)"]
        out.append(f"    --- QEMU: {self.command_line()}")
        err = self.stderr_lines()
        if err:
            out.append("    --- QEMU stderr ---")
            out += ["    | " + s for s in err[-10:]]
        return "\n".join(out)

    # --- QMP: why QEMU stopped --------------------------------------------

    def _watch_qmp(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deadline = time.monotonic() + 10 * TIMEOUT_SCALE
        while True:
            try:
                s.connect(self.qmp_sock)
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    s.close()
                    return
                time.sleep(0.02)
        try:
            f = s.makefile("rwb")
            f.readline()  # greeting
            f.write(b'{"execute": "qmp_capabilities"}\n')
            f.flush()
            for line in f:
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                if msg.get("event") == "SHUTDOWN":
                    self.shutdown_reason = msg.get("data", {}).get("reason", "unknown")
        except OSError:
            pass
        finally:
            s.close()

    # --- COM2 ------------------------------------------------------------

    def ctl(self, timeout=5.0):
        """The control connection (opened on first use)."""
        if self._ctl is None:
            self._ctl = CtlClient(self.ctl_sock).connect(timeout * TIMEOUT_SCALE)
        return self._ctl

    def command(self, line, timeout=10.0):
        return self.ctl().command(line, timeout * TIMEOUT_SCALE)


def install_signal_handlers():
    """Turn SIGTERM/SIGHUP into KeyboardInterrupt so `with Vm` blocks clean up."""
    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)
