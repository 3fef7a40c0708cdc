"""nvmebench: bench/nvme's pieces: the Linux baseline guest's recipe (apt's Depends, paths
through a package's symlinks, the initramfs writer, its COM1 parser), the parser of Maple's
`bench: nvme` lines and the targets' verdicts, and one boot of the Linux guest (built on
demand from Debian packages) running fio on a QEMU NVMe disk.
"""
import gzip
import os
import shutil
import stat
import tempfile
from importlib.machinery import SourceFileLoader

from harness import linuxguest as lg
from harness.qemu import ROOT, Config, private_tempdir

from .common import Failure, progress, test, vm


def check(cond, reason):
    if not cond:
        raise Failure(reason)


def check_depends():
    fields = {"Depends": "libc6 (>= 2.34), libfoo1 | libbar2, python3:any (>= 3.9), zlib1g"}
    got = lg.depends(fields)
    check(got == ["libc6", "libfoo1", "python3", "zlib1g"], f"depends: {got}")
    got = lg.stanzas("Package: a\nVersion: 1\nDepends: x,\n y\n\nPackage: b\nVersion: 2\n")
    check(got == {"a": {"Package": "a", "Version": "1", "Depends": "x,\ny"},
                  "b": {"Package": "b", "Version": "2"}}, f"stanzas: {got}")


def check_inside():
    """A guest path follows the package's symlinks, and never out of its directory."""
    with tempfile.TemporaryDirectory() as root:
        libdir = os.path.join(root, "lib/x86_64-linux-gnu")
        os.makedirs(libdir)
        os.makedirs(os.path.join(root, "lib64"))
        open(os.path.join(libdir, "libz.so.1.2.13"), "w").close()
        os.symlink("libz.so.1.2.13", os.path.join(libdir, "libz.so.1"))
        os.symlink("/lib/x86_64-linux-gnu/libz.so.1", os.path.join(root, "lib64/z"))
        os.symlink("../../../../etc/passwd", os.path.join(libdir, "escape"))
        os.symlink("loop", os.path.join(libdir, "loop"))
        real = os.path.join(libdir, "libz.so.1.2.13")
        for path, want in (("/lib/x86_64-linux-gnu/libz.so.1", real), ("/lib64/z", real),
                           ("/lib/x86_64-linux-gnu/escape", None),
                           ("/lib/x86_64-linux-gnu/loop", None), ("/lib/none", None)):
            got = lg.inside(root, path)
            check(got == want, f"{path}: {got}, expected {want}")


def read_cpio(path):
    """[(name, mode, rdev major, minor, data)] of a gzip'd newc archive, checking alignment."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    out, pos = [], 0
    while True:
        check(raw[pos:pos + 6] == b"070701", f"entry at {pos}: magic {raw[pos:pos + 6]!r}")
        v = [int(raw[pos + 6 + 8 * i:pos + 14 + 8 * i], 16) for i in range(13)]
        name_at = pos + 110
        name = raw[name_at:name_at + v[11] - 1].decode()
        data_at = name_at + v[11] + (-(110 + v[11]) % 4)
        data = raw[data_at:data_at + v[6]]
        pos = data_at + v[6] + (-v[6] % 4)
        if name == "TRAILER!!!":
            check(pos == len(raw), f"{len(raw) - pos} bytes after the trailer")
            return out
        out.append((name, v[1], v[9], v[10], data))


def check_cpio():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "a.img")
        c = lg.Cpio(path)
        c.chardev("dev/console", 5, 1)
        c.file("usr/lib/x/libq.so.1", b"abcde")
        c.file("init", b"#!/bin/sh\n", mode=0o755)
        c.close()
        got = read_cpio(path)
    want = [("dev", stat.S_IFDIR | 0o755, 0, 0, b""),
            ("dev/console", stat.S_IFCHR | 0o600, 5, 1, b""),
            ("usr", stat.S_IFDIR | 0o755, 0, 0, b""),
            ("usr/lib", stat.S_IFDIR | 0o755, 0, 0, b""),
            ("usr/lib/x", stat.S_IFDIR | 0o755, 0, 0, b""),
            ("usr/lib/x/libq.so.1", stat.S_IFREG | 0o755, 0, 0, b"abcde"),
            ("init", stat.S_IFREG | 0o755, 0, 0, b"#!/bin/sh\n")]
    check(got == want, f"archive holds {got}")


def check_parse():
    lines = [
        "[    0.1] noise",
        "bench: linux ready kernel=6.1.0-57-cloud-amd64 uptime=3.95",
        "bench: linux fio mix=randread4k qd=32 error=0 kib=40000 ms=2000 iops=5000",
        "bench: linux fio mix=seqwrite128k qd=1 error=0 kib=256000 ms=2001 iops=999",
        "bench: linux fio mix=randwrite4k qd=1 error=5 kib=4 ms=2000 iops=0",
        "bench: linux fio mix=bogus qd=1 failed: unknown mix",
        "bench: linux done",
    ]
    got = lg.parse(lines)
    want = {"ready": ("6.1.0-57-cloud-amd64", 3.95),
            "results": [("randread4k", 32, 10000, 2_000_000_000),
                        ("seqwrite128k", 1, 2000, 2_001_000_000)],
            "errors": ["fio randwrite4k qd=1: error 5, 2000 ms", "fio bogus qd=1: unknown mix"],
            "done": True}
    check(got == want, f"parsed {got}")
    check(lg.parse(["bench: linux failed: no /dev/nvme0n1 after 10 s"])["errors"] ==
          ["no /dev/nvme0n1 after 10 s"], "a guest failure line is not an error")


def check_boot():
    """The guest, built on demand, runs one fio job on the disk and refuses an unknown mix."""
    guest = lg.build(progress=lambda s: progress(f"linux guest: {s}"))
    release = lg.manifest(guest)["kernel"]["release"]
    work = private_tempdir("linuxguest")
    try:
        cfg = Config(firmware="bios", smp=2, cmdline=lg.cmdline(
                         [("randread4k", 1), ("bogus", 1)], 300, ramp_ms=100),
                     kernel=os.path.join(guest, "vmlinuz"),
                     modules=[os.path.join(guest, "initrd.img")],
                     nvme=os.path.join(work, "nvme.img"))
        with vm("nvmebench/linux-boot", cfg) as v:
            v.wait_for(lg.DONE, 180, what="`bench: linux done`", idle=90)
            got = lg.parse(v.text())
            v.wait_exit(30)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    check(got["ready"] and got["ready"][0] == release,
          f"ready line {got['ready']}, expected kernel {release}")
    check(len(got["results"]) == 1 and got["results"][0][:2] == ("randread4k", 1)
          and got["results"][0][2] > 0 and got["results"][0][3] >= 300_000_000,
          f"results {got['results']}: expected one randread4k qd=1 of at least 300 ms")
    check(got["errors"] == ["fio bogus qd=1: unknown mix"], f"errors {got['errors']}")
    progress(f"linux guest: randread4k qd1 {got['results'][0][2]} ops in "
             f"{got['results'][0][3] / 1e9:.3f} s (a check, not a measurement)")


def bench_nvme():
    return SourceFileLoader("bench_nvme", os.path.join(ROOT, "bench/nvme")).load_module()


def check_maple_parse():
    """Maple's lines as the contract gives them; anything else under `bench: nvme` is an error."""
    b = bench_nvme()
    got = b.parse_perf([
        "bench: nvme path=indomain mix=randread4k qd=32 ops=30000 ns=2000000000 iops=15000 "
        "mbps=61",
        "bench: nvme path=shadow mix=seqwrite128k qd=1 ops=100 ns=1000000000 iops=100 mbps=13",
        "bench: nvme path=elsewhere mix=randread4k qd=1 ops=1 ns=1 iops=1 mbps=1",
        "bench: nvme cannot grant the device: busy",
        "bench: nvme path=crossing mix=randread4k qd=1 failed: bench returned -3",
        "bench: nvme done",
    ])
    want = {"results": {("indomain", "randread4k", 32): (30000, 2000000000, "15000", "61"),
                        ("shadow", "seqwrite128k", 1): (100, 1000000000, "100", "13")},
            "errors": ["unexpected line: bench: nvme path=elsewhere mix=randread4k qd=1 ops=1 "
                       "ns=1 iops=1 mbps=1", "nvme cannot grant the device: busy",
                       "nvme path=crossing mix=randread4k qd=1 failed: bench returned -3"]}
    check(got == want, f"parsed {got}")
    got = b.parse_crash([
        "bench: nvme series t_ms=0 ops=0 crash=0", "bench: nvme series t_ms=10 ops=50 crash=1",
        "bench: nvme series t_ms=20 ops=70 crash=0",
        "bench: nvme crash ops=900 crashes=30 errors=0 lost=0 calm_ops=1000",
        "bench: nvme done"])
    check((got["ops"], got["crashes"], got["errors"], got["lost"], got["calm_ops"]) ==
          (900, 30, 0, 0, 1000) and got["guest"] == [], f"crash line {got}")
    check(b.timeline(got["series"]) == [(0.01, 5000.0, True), (0.02, 7000.0, False)],
          f"timeline {b.timeline(got['series'])}")
    check(b.parse_crash(["bench: nvme crash failed: bdclient.start returned -1",
                         "bench: nvme done"]) is None, "a crash boot without its summary parsed")


def check_verdicts():
    """Ratios pair each Maple boot with the Linux boot of the same index; the targets are met
    only on the whole IQR of three or more; a lost write misses the crash target."""
    b = bench_nvme()
    key = ("indomain", "randread4k", 32)
    linux = [{"boot": i, "results": {("randread4k", 32): (1000 * i, 10**9)}} for i in (1, 2, 3)]
    maple = [{"boot": i, "results": {key: (2000 * i, 10**9)}} for i in (3, 1, 2)]
    rows = b.maple_rows([(linux[m["boot"] - 1], m) for m in maple])
    check(len(rows) == 1 and rows[0]["ratio"].median == 2.0 and rows[0]["ratio"].n == 3
          and b.judged(rows[0]["ratio"], rows[0]["target"], 3) == ">= 1.5x: met",
          f"rows {rows}")
    check(b.judged(rows[0]["ratio"], 1.5, 2) == ">= 1.5x: not judged (fewer than 3 boots)",
          "two boots judged")
    calm = {"ops": 95, "calm_ops": 100, "crashes": 10, "errors": 0, "lost": 0}
    check(b.crash_row([calm] * 3)["verdict"] == "met", "95% kept, nothing lost: not met")
    got = b.crash_row([calm, calm, dict(calm, lost=1)])["verdict"]
    check(got == "missed (1 lost writes, 0 client errors)", f"a lost write: {got}")


def run():
    test("nvmebench/linux-depends", check_depends)
    test("nvmebench/linux-inside", check_inside)
    test("nvmebench/linux-cpio", check_cpio)
    test("nvmebench/linux-parse", check_parse)
    test("nvmebench/maple-parse", check_maple_parse)
    test("nvmebench/verdicts", check_verdicts)
    test("nvmebench/linux-boot", check_boot)
