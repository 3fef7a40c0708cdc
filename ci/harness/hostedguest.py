"""maple-hosted inside the Linux baseline guest, for machines without PKU.

The hosted platform (docs/platform.md, "The linux platform") isolates domains
with protection keys; a CPU without PKU cannot enforce them. QEMU's TCG with
`-cpu max` emulates PKU and Debian's kernel enables it, so the baseline guest
(ci/harness/linuxguest.py, its cloud612 flavour: bookworm-backports' Linux 6.12,
whose signal delivery maple-hosted's keys need) can run maple-hosted with real
key checks, only slowly (under QEMU 10.0, ci/qemu10): its figures are TCG's,
never silicon's.

One boot runs a list of maple-hosted commands. The guest's cached initramfs is
left as it is; this module packs a second gzip'd cpio archive per run holding
/usr/bin/maple-hosted, every out/domains/*.elf and out/kernel/kernel.elf (its
gate page's source) under /maple, and /etc/hosted/commands (one argument list a line), and boots the two archives
concatenated (the kernel unpacks each in turn: buffer-format.rst). The init's
`hosted=1` switch runs the commands from /maple, so an argument naming a file
under the worktree becomes that path relative to /maple.

maple-hosted is the host's build, linked statically (a static PIE: no libc.so or
ld.so in the process, docs/platform.md), so it runs in the guest as it is: pack()
checks that it needs no shared object and no interpreter, and refuses otherwise,
naming what it needs; the guest's own glibc is not involved.
"""
import os
import re
import tempfile

from . import linuxguest as lg
from .qemu import QEMU_10, ROOT, Config, Vm, VmError

HOSTED = os.path.join(ROOT, "out/hosted/maple-hosted")
DOMAINS = os.path.join(ROOT, "out/domains")
# The kernel image maple-hosted maps the gate page from (hosted/gatepage.h).
KERNEL_ELF = os.path.join(ROOT, "out/kernel/kernel.elf")
GUEST_ROOT = "/maple"   # the worktree's place in the guest
MEMORY = "512M"
BOOT_S = 180            # the boot and the initramfs, under a loaded TCG host
LINE = re.compile(r"bench: linux hosted (\d+) (out|err|kernel|status) ?(.*)$")
# What a command line may hold: the init splits it on spaces and expands nothing else.
WORD = re.compile(r"[\w./+,:=@%-]+")


class GuestError(VmError):
    pass


def guest_path(arg):
    """arg as the guest sees it: a path under the worktree moves under /maple."""
    if arg.startswith(ROOT + os.sep):
        return GUEST_ROOT + arg[len(ROOT):]
    return arg


def check_static():
    """GuestError unless maple-hosted is static: the process the guest runs must be the one
    whose whole executable memory its start-up audit scanned (hosted/audit.c), with no
    shared object of the guest's in it."""
    needed, runpath, interp = lg.elf_needs(HOSTED)
    wants = needed + runpath + ([interp] if interp else [])
    if wants:
        raise GuestError(f"{HOSTED} is not static: it needs {', '.join(wants)} (build it with "
                         "tools/configure's HOSTED_LDFLAGS, -static-pie)")


def pack(commands, path):
    """The second archive: maple-hosted, the domain images and the command list."""
    if not os.path.isdir(DOMAINS):
        raise GuestError(f"{DOMAINS}: missing (build the domain images with ninja)")
    files = [HOSTED, KERNEL_ELF] + sorted(os.path.join(DOMAINS, n) for n in os.listdir(DOMAINS)
                                          if n.endswith(".elf"))
    for f in files[:2]:
        if not os.path.isfile(f):
            raise GuestError(f"{f}: missing (build it with ninja)")
    lines = []
    for argv in commands:
        args = [guest_path(a) for a in argv]
        bad = [a for a in args if not WORD.fullmatch(a)]
        if bad or not args:
            raise GuestError(f"maple-hosted {' '.join(argv)}: the guest's init splits on "
                             f"spaces only; cannot pass {bad or 'no arguments'}")
        lines.append(" ".join(args) + "\n")
    cpio = lg.Cpio(path)
    with open(HOSTED, "rb") as f:
        cpio.file("usr/bin/maple-hosted", f.read())
    for path in files[1:]:
        with open(path, "rb") as f:
            cpio.file(guest_path(path).lstrip("/"), f.read(), mode=0o644)
    cpio.file("etc/hosted/commands", "".join(lines).encode(), mode=0o644)
    cpio.close()


def parse(lines, count):
    """{n: (status, stdout lines, stderr text)} for commands 1..count, from the console's
    lines; GuestError naming the first command without a status line."""
    got = {}
    for raw in lines:
        m = LINE.search(raw.rstrip("\r"))
        if not m:
            continue
        n = int(m[1])
        rc, out, err, kernel = got.get(n, (None, [], [], []))
        if m[2] == "out":
            out.append(m[3])
        elif m[2] == "err":
            err.append(m[3])
        elif m[2] == "kernel":
            kernel.append(f"guest kernel: {m[3]}")
        else:
            rc = int(m[3])
        got[n] = (rc, out, err, kernel)
    for n in range(1, count + 1):
        if n not in got or got[n][0] is None:
            raise GuestError(f"command {n} of {count} printed no status line")
    # The kernel's lines (a process killed by a signal: print-fatal-signals) join stderr
    # only for a command that failed, so a passing command's stderr is its own.
    return {n: (rc, out, "\n".join(err + (kernel if rc else [])))
            for n, (rc, out, err, kernel) in got.items()}


def run(commands, progress=print, per_command_s=60, name="hosted-guest", log_path=None):
    """Run each argument list (maple-hosted's arguments) in one guest boot (its
    console kept in log_path if given); a list of (status, stdout lines, stderr
    text), one per command, and the guest's kernel release."""
    guest = lg.build(progress=progress, flavour=lg.CLOUD612)
    check_static()
    release = lg.manifest(guest)["kernel"]["release"]
    with tempfile.TemporaryDirectory(prefix="maple-hosted-guest-") as tmp:
        extra = os.path.join(tmp, "hosted.cpio.gz")
        pack(commands, extra)
        initrd = os.path.join(tmp, "initrd.img")
        with open(initrd, "wb") as out:
            for part in (os.path.join(guest, "initrd.img"), extra):
                with open(part, "rb") as f:
                    out.write(f.read())
        # QEMU 10.0 (ci/qemu10): under the distro's 7.2, TCG double-faults in
        # the 6.12 kernel within seconds of maple-hosted's tests (seen: `traps:
        # PANIC: double fault` in copy_process and in tgkill, the guest reset,
        # with and without this change); 10.0 runs them all.
        cfg = Config(firmware="bios", smp=1, memory=MEMORY, nvme=None, qemu=QEMU_10,
                     cmdline="console=ttyS0 quiet panic=-1 print-fatal-signals=1 hosted=1",
                     kernel=os.path.join(guest, "vmlinuz"), modules=[initrd])
        progress(f"booting the guest ({release}) for {len(commands)} maple-hosted commands")
        with Vm(cfg, name=name, log_path=log_path, print_tail=False) as v:
            v.wait_for(lg.DONE, BOOT_S + per_command_s * len(commands),
                       what="`bench: linux done`", idle=BOOT_S)
            lines = v.text()
    for line in lines:
        failed = lg.FAILED.search(line)
        if failed:
            raise GuestError(f"the guest said: {failed[3]}")
    got = parse(lines, len(commands))
    return [got[n] for n in range(1, len(commands) + 1)], release
