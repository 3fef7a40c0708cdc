"""The Linux baseline guest: built from Debian packages, booted beside Maple by bench/nvme
(fio) and bench/net (pktgen), and as the PKU guest of maple-hosted (hostedguest.py).

The guest is a Debian cloud kernel (it boots fastest under TCG: an LZ4 image with
NVMe built in, where the generic one is XZ and decompressing it costs seconds)
and one initramfs holding busybox-static, fio, the shared objects fio loads, the
kernel's virtio-net and pktgen modules (NET_MODULES) and bench/linux-guest/init.
The cloud kernel has no igb driver, so bench/net's igb boots build the same
guest around the generic kernel (the GENERIC flavour, with IGB_MODULES; fio is
in it but cannot reach the NVMe disk, whose driver is a module there). The PKU
guest is the CLOUD612 flavour: bookworm-backports' cloud kernel (Linux 6.12),
whose suite Apt reaches with a sources list, lists and cache of its own (the
machine's apt is left as it is). Every file comes from a .deb fetched with
`apt-get download`; nothing else is downloaded and no host binary goes in.

Where it lives: out/linux-guest/debs/ caches the .debs (named by package and
version, so a newer version is fetched beside an older one), and
out/linux-guest/<flavour>-<kernel>_<busybox>_<fio>-<hash>/ holds one build: vmlinuz,
initrd.img and manifest.json (every package and version that went in). The
directory is named by the three packages' versions and a hash of those
versions, the init script and this file, so a new package version or a changed
recipe builds a new directory and an unchanged one is reused at once; older
builds are then removed (the .debs are kept). A build is made in a temporary
directory and renamed into place whole.

fio's libraries are found the way the dynamic loader would find them: read
fio's DT_NEEDED, DT_RUNPATH and PT_INTERP (readelf, binutils), look for each
soname in the packages already unpacked, and where it is missing fetch the
library packages the needing package Depends on (dpkg-shlibdeps puts the
package of every directly linked library there), until every object's needs
resolve. Debian's fio links the ceph, gluster, rdma and pmem libraries
directly, so there are about sixty.

What the guest prints on COM1 (ttyS0) is parsed by parse_line():
    bench: linux ready kernel=RELEASE uptime=SECONDS
    bench: linux fio mix=M qd=Q error=E kib=K ms=T iops=I
    bench: linux fio mix=M qd=Q failed: REASON
    bench: linux pktgen size=N clone=C pkts=P usec=U   (parse_pktgen(); bench/net)
    bench: linux pktgen size=N clone=C failed: REASON
    bench: linux pktgen send dev=D count=N pkts=P usec=U errors=E   (parse_send(); ci netrx)
    bench: linux pktgen send dev=D failed: REASON
    bench: linux failed: REASON
    bench: linux done
"""
import getpass
import gzip
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time

from .qemu import ROOT, VmError, process_alive

CACHE = os.path.join(ROOT, "out/linux-guest")
INIT = os.path.join(ROOT, "bench/linux-guest/init")
BUSYBOX = "busybox-static"
FIO = "fio"
# What every guest cannot run without, from the kernel's own config: the
# serial console, a gzip initramfs, devtmpfs and the block layer's AIO (fio).
KERNEL_CONFIG = ("CONFIG_AIO=y", "CONFIG_SERIAL_8250_CONSOLE=y", "CONFIG_BLK_DEV_INITRD=y",
                 "CONFIG_RD_GZIP=y", "CONFIG_DEVTMPFS=y")
# The modules bench/net's pktgen needs, in load order: the cloud kernel has
# virtio-net and pktgen as modules (linux-image-cloud-amd64 6.1: each .ko's
# .modinfo depends= and softdep=pre: give this order: virtio_pci needs
# virtio, virtio_ring and both pci_*_dev; virtio_net needs net_failover,
# which needs failover). They go into the initramfs under
# /lib/modules/RELEASE/; /init loads them only when pktgen is asked for, so
# fio's boots are as they were.
NET_MODULES = ("drivers/virtio/virtio_ring.ko", "drivers/virtio/virtio.ko",
               "drivers/virtio/virtio_pci_modern_dev.ko",
               "drivers/virtio/virtio_pci_legacy_dev.ko", "drivers/virtio/virtio_pci.ko",
               "net/core/failover.ko", "drivers/net/net_failover.ko",
               "drivers/net/virtio_net.ko", "net/core/pktgen.ko")
# The igb modules, in load order: Debian's cloud kernel has no Intel NIC
# driver but ixgbevf (linux-image-6.1.0-57-cloud-amd64 ships no igb.ko), so
# bench/net's igb boots use the generic kernel, whose igb.ko .modinfo says
# depends=dca,i2c-algo-bit (PTP, PPS, I2C and HWMON are built in there).
IGB_MODULES = ("drivers/dca/dca.ko", "drivers/i2c/algos/i2c-algo-bit.ko",
               "drivers/net/ethernet/intel/igb/igb.ko", "net/core/pktgen.ko")

# The ixgbe modules, in load order, for the 82599 model (tools/qemu-82599):
# the generic kernel's ixgbe.ko .modinfo says depends=dca,xfrm_algo,libphy,
# mdio_devres,mdio, and mdio_devres.ko's says depends=libphy (6.1.0-57).
IXGBE_MODULES = ("drivers/dca/dca.ko", "net/xfrm/xfrm_algo.ko", "drivers/net/phy/libphy.ko",
                 "drivers/net/phy/mdio_devres.ko", "drivers/net/mdio.ko",
                 "drivers/net/ethernet/intel/ixgbe/ixgbe.ko", "net/core/pktgen.ko")


class Flavour:
    """One kernel flavour of the guest: the metapackage whose Depends names the
    current image, what its config must have built in beyond KERNEL_CONFIG, the
    NIC's modules (plus pktgen) that go into the initramfs, and the suite the
    kernel comes from (None: the machine's own apt sources; else a suite of
    deb.debian.org that Apt below fetches with apt lists of its own)."""

    def __init__(self, name, meta, config, modules, nic, suite=None):
        self.name, self.meta, self.config, self.modules, self.nic = (name, meta, config,
                                                                      modules, nic)
        self.suite = suite


# cloud: fio (NVMe built in) and pktgen on virtio-net; generic: pktgen on igb
# only (its NVMe is a module the initramfs does not carry, so no fio there).
CLOUD = Flavour("cloud", "linux-image-cloud-amd64", ("CONFIG_BLK_DEV_NVME=y",), NET_MODULES,
                "virtio-net")
GENERIC = Flavour("generic", "linux-image-amd64", (), IGB_MODULES, "igb")
# ixgbe: the generic kernel with Linux's 82599 driver, for the model's tests.
IXGBE = Flavour("ixgbe", "linux-image-amd64", (), IXGBE_MODULES, "ixgbe82599")
# cloud612: the PKU guest's kernel (ci/harness/hostedguest.py), the cloud kernel
# of bookworm-backports (6.12), whose signal delivery writes the frame with every
# key enabled and hands the handler its default PKRU (Linux 6.12, "x86/pkeys:
# Update PKRU to enable all pkeys before XSAVE"): maple-hosted's keyed mode needs
# that (docs/platform.md). No NIC: the guest runs maple-hosted only.
CLOUD612 = Flavour("cloud612", "linux-image-cloud-amd64",
                   ("CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS=y",), (), None,
                   suite="bookworm-backports")
FLAVOURS = {f.name: f for f in (CLOUD, GENERIC, IXGBE, CLOUD612)}
# Where a flavour with a suite keeps apt's sources list, lists and cache (under
# the cache directory, beside debs/; ci/qemu10 does the same for QEMU): the
# machine's apt sources are never changed.
APT_DIR = "apt-"
LISTS_MAX_AGE_S = 24 * 3600  # a suite's lists older than this are fetched again

# Where glibc's loader looks when no ld.so.cache exists (the guest has none).
LIB_DIRS = ("lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu", "lib", "usr/lib")

# The four mixes both guests run: fio's rw= and bs= for each (Maple's bench
# prints the same names).
MIXES = {
    "randread4k": ("randread", 4096),
    "randwrite4k": ("randwrite", 4096),
    "seqread128k": ("read", 131072),
    "seqwrite128k": ("write", 131072),
}
QDS = (1, 32)

READY = re.compile(r"bench: linux ready kernel=(\S+) uptime=([\d.]+)")
RESULT = re.compile(r"bench: linux fio mix=(\w+) qd=(\d+) error=(\d+) kib=(\d+) ms=(\d+) "
                    r"iops=(\d+)")
FAILED = re.compile(r"bench: linux (?:fio mix=(\w+) qd=(\d+) )?failed: (.*)")
DONE = r"bench: linux done"
PKTGEN = re.compile(r"bench: linux pktgen size=(\d+) clone=(\d+) pkts=(\d+) usec=(\d+)")
PKTGEN_FAILED = re.compile(r"bench: linux pktgen (size=\S+ clone=\S+) failed: (.*)")
SEND = re.compile(r"bench: linux pktgen send dev=(\S+) count=(\d+) pkts=(\d+) usec=(\d+) "
                  r"errors=(\d+)")
SEND_FAILED = re.compile(r"bench: linux pktgen send dev=(\S*) failed: (.*)")
PKTGEN_OTHER = re.compile(r"bench: linux pktgen ")  # any other pktgen line: unexpected


class BuildError(VmError):
    pass


def log(progress, text):
    if progress:
        progress(text)


def run(argv, what, cwd=None):
    """Run argv; its stdout as text, or BuildError naming `what` and apt's/dpkg's last words."""
    try:
        r = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    except OSError as e:
        raise BuildError(f"{what}: cannot run {argv[0]}: {e.strerror}") from None
    if r.returncode != 0:
        err = [s for s in r.stderr.strip().splitlines() if "unsandboxed" not in s][-3:]
        raise BuildError(f"{what}: {argv[0]} exited with status {r.returncode}: " +
                         (" / ".join(err) or "no message"))
    return r.stdout


# --- apt ---------------------------------------------------------------------

def stanzas(text):
    """apt-cache show output as {package: {field: value}} (first stanza per package)."""
    out = {}
    for block in text.split("\n\n"):
        fields, key = {}, None
        for line in block.splitlines():
            if line.startswith((" ", "\t")) and key:
                fields[key] += "\n" + line.strip()
            elif ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if "Package" in fields:
            out.setdefault(fields["Package"], fields)
    return out


def depends(fields):
    """The package names of a Depends field: the first alternative of each, no versions."""
    names = []
    for item in fields.get("Depends", "").split(","):
        first = item.split("|")[0].strip()
        if first:
            names.append(re.split(r"[\s(:]", first, maxsplit=1)[0])
    return names


class Apt:
    """apt restricted to one suite of deb.debian.org through options alone (its own
    sources list, lists and cache under cache/apt-SUITE/), updated when its lists are
    missing or a day old. The machine's apt (no options) is Apt(None)."""

    def __init__(self, suite, cache):
        self.suite = suite
        self.dir = os.path.join(cache, APT_DIR + suite) if suite else None

    def options(self):
        if not self.suite:
            return []
        return ["-o", f"Dir::Etc::SourceList={self.dir}/sources.list",
                "-o", "Dir::Etc::SourceParts=/dev/null",
                "-o", f"Dir::State::Lists={self.dir}/lists",
                "-o", f"Dir::Cache={self.dir}/cache",
                "-o", "Debug::NoLocking=1", "-o", f"APT::Sandbox::User={getpass.getuser()}"]

    def update(self, progress):
        if not self.suite:
            return
        lists = os.path.join(self.dir, "lists")
        stamp = os.path.join(self.dir, "updated")
        try:
            fresh = time.time() - os.path.getmtime(stamp) < LISTS_MAX_AGE_S
        except OSError:
            fresh = False
        if fresh:
            return
        for d in ("lists/partial", "cache/archives/partial"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        with open(os.path.join(self.dir, "sources.list"), "w") as f:
            f.write(f"deb http://deb.debian.org/debian {self.suite} main\n")
        log(progress, f"apt-get update of {self.suite} (lists in {os.path.relpath(lists, ROOT)})")
        run(["apt-get", *self.options(), "-q", "update"], f"apt-get update of {self.suite}")
        with open(stamp, "w") as f:
            f.write(f"{self.suite}\n")


MACHINE = Apt(None, None)


def show(packages, apt=MACHINE):
    """apt's candidate stanza of each package; BuildError naming those apt does not know."""
    r = subprocess.run(["apt-cache", *apt.options(), "show", "--no-all-versions", *packages],
                       capture_output=True, text=True)
    found = stanzas(r.stdout)
    missing = [p for p in packages if p not in found]
    if missing:
        where = (f"in {apt.suite} (apt lists in {apt.dir})" if apt.suite else
                 "(run `apt-get update`, as ci/setup does)")
        raise BuildError(f"apt knows no package {', '.join(missing)} {where}")
    return found


def resolve(flavour=CLOUD, kapt=MACHINE):
    """(kernel, busybox, fio) as (package, version) from apt's candidates: the kernel
    from kapt (the flavour's suite), busybox and fio from the machine's."""
    meta = show([flavour.meta], kapt)[flavour.meta]
    images = [d for d in depends(meta) if d.startswith("linux-image-")]
    if not images:
        raise BuildError(f"{flavour.meta}: its Depends names no linux-image package")
    kernel = show([images[0]], kapt)[images[0]]
    got = show([BUSYBOX, FIO])
    return ((images[0], kernel["Version"]),) + tuple((p, got[p]["Version"])
                                                   for p in (BUSYBOX, FIO))


def deb_name(package, fields):
    """The file name apt-get download gives a package's candidate (epoch ':' as %3a)."""
    return f"{package}_{fields['Version'].replace(':', '%3a')}_{fields['Architecture']}.deb"


def fetch(packages, debs, progress, apt=MACHINE):
    """Each package's candidate .deb in debs/ (downloaded if missing); {package: (path, fields)}."""
    info = show(packages, apt)
    os.makedirs(debs, exist_ok=True)
    want = [p for p in packages if not os.path.exists(os.path.join(debs, deb_name(p, info[p])))]
    if want:
        log(progress, f"apt-get download {' '.join(want)}")
        run(["apt-get", *apt.options(), "download",
             *[f"{p}={info[p]['Version']}" for p in want]],
            f"downloading {', '.join(want)}", cwd=debs)
    out = {}
    for p in packages:
        path = os.path.join(debs, deb_name(p, info[p]))
        if not os.path.exists(path):
            raise BuildError(f"apt-get download {p}: no {os.path.basename(path)} afterwards")
        out[p] = (path, info[p])
    return out


def unpack(deb, into):
    os.makedirs(into, exist_ok=True)
    run(["dpkg-deb", "-x", deb, into], f"unpacking {os.path.basename(deb)}")
    return into


# --- ELF ---------------------------------------------------------------------

def elf_needs(path):
    """(DT_NEEDED sonames, DT_RUNPATH/DT_RPATH dirs, PT_INTERP or None) of an ELF file."""
    dyn = run(["readelf", "-d", "-W", path], f"reading {path}")
    hdr = run(["readelf", "-l", "-W", path], f"reading {path}")
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn)
    runpath = [d for m in re.findall(r"\((?:RUNPATH|RPATH)\)\s+Library r(?:un)?path: "
                                     r"\[([^\]]*)\]", dyn) for d in m.split(":") if d]
    interp = re.search(r"\[Requesting program interpreter: ([^\]]+)\]", hdr)
    return needed, runpath, interp[1] if interp else None


def inside(root, path):
    """path (absolute in the guest) under root, following symlinks within root only;
    None when it does not exist there or a link leaves root."""
    parts = [p for p in path.split("/") if p]
    real = []
    for _ in range(40):  # symlink hops; a loop is a broken package
        if not parts:
            full = os.path.join(root, *real)
            return full if os.path.isfile(full) else None
        part = parts.pop(0)
        full = os.path.join(root, *real, part)
        if os.path.islink(full):
            target = os.readlink(full)
            parts = [p for p in target.split("/") if p] + parts
            if target.startswith("/"):
                real = []
            continue
        if part == "..":
            if real:
                real.pop()
            continue
        if not os.path.lexists(full):
            return None
        real.append(part)
    return None


class Sysroot:
    """Unpacked packages, one directory each, searched in the order they were added."""

    def __init__(self, top):
        self.top = top
        self.roots = {}  # package -> its directory

    def add(self, package, deb):
        self.roots[package] = unpack(deb, os.path.join(self.top, package))

    def find(self, path):
        """(package, host file) holding the guest's absolute path, or None."""
        for package, root in self.roots.items():
            f = inside(root, path)
            if f:
                return package, f
        return None

    def lookup(self, soname, runpath, origin):
        """(guest path, package, host file) where the loader would find soname."""
        dirs = [d.replace("$ORIGIN", origin).replace("${ORIGIN}", origin) for d in runpath]
        for d in dirs + ["/" + d for d in LIB_DIRS]:
            guest = os.path.normpath(os.path.join(d, soname))
            hit = self.find(guest)
            if hit:
                return (guest, *hit)
        return None


def lib_depends(fields, packages):
    """The library packages a package Depends on that are not fetched yet."""
    return [d for d in depends(fields) if (d.startswith("lib") or d == "zlib1g")
            and d not in packages]


def close_libraries(sysroot, binary, packages, debs, progress):
    """{guest path: host file} of binary, its interpreter and every shared object it loads,
    fetching library packages as needed (see the module comment). packages ({package:
    (deb, fields)}) gains what is fetched."""
    files, queue, pending = {}, [], []

    def resolve_one(need):
        """Find one need (soname, needing path, its package, runpath; or None as the soname
        and the interpreter's path as the runpath); True once found."""
        so, guest, _, where = need
        if so is None:
            hit = sysroot.find(where)
            if hit:
                files[where] = hit[1]
            return bool(hit)
        hit = sysroot.lookup(so, where, os.path.dirname(guest))
        if hit and hit[0] not in files:
            files[hit[0]] = hit[2]
            queue.append((hit[0], hit[1]))
        return bool(hit)

    package, files[binary] = sysroot.find(binary)
    queue.append((binary, package))
    while True:
        while queue:
            guest, package = queue.pop()
            needed, runpath, interp = elf_needs(files[guest])
            if interp and interp not in files:
                pending.append((None, guest, package, interp))
            pending += [(so, guest, package, runpath) for so in needed]
            pending = [n for n in pending if not resolve_one(n)]
        if not pending:
            return files
        # The library packages the needing packages depend on, then look again.
        needers = sorted({n[2] for n in pending})
        wanted = sorted({d for n in needers for d in lib_depends(packages[n][1], packages)})
        if not wanted:
            so, guest, package, _ = pending[0]
            raise BuildError(f"{guest} (from {package}) needs {so or 'its interpreter'}, and "
                             f"no library package {package} depends on provides it")
        log(progress, f"{len(pending)} shared objects not found yet; fetching {len(wanted)} "
                      f"library packages from the Depends of {', '.join(needers)}")
        for p, got in fetch(wanted, debs, progress).items():
            packages[p] = got
            sysroot.add(p, got[0])
        pending = [n for n in pending if not resolve_one(n)]


# --- initramfs ---------------------------------------------------------------

class Cpio:
    """A gzip'd cpio archive in the kernel's initramfs format ("newc", see the kernel's
    Documentation/driver-api/early-userspace/buffer-format.rst), owned by root."""

    def __init__(self, path):
        self.f = gzip.open(path, "wb", compresslevel=6)
        self.ino = 1
        self.dirs = set()

    def _entry(self, name, mode, data=b"", rdev=(0, 0)):
        name_b = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1],
                  len(name_b), 0]
        self.ino += 1
        head = b"070701" + b"".join(b"%08X" % v for v in fields)
        self.f.write(head + name_b + b"\0" * (-(len(head) + len(name_b)) % 4))
        self.f.write(data + b"\0" * (-len(data) % 4))

    def mkdir(self, name):
        if not name:  # the archive's root is the kernel's rootfs itself
            return
        parent = os.path.dirname(name)
        if parent and parent not in self.dirs:
            self.mkdir(parent)
        if name not in self.dirs:
            self.dirs.add(name)
            self._entry(name, stat.S_IFDIR | 0o755)

    def file(self, name, data, mode=0o755):
        self.mkdir(os.path.dirname(name))
        self._entry(name, stat.S_IFREG | mode, data)

    def chardev(self, name, major, minor):
        self.mkdir(os.path.dirname(name))
        self._entry(name, stat.S_IFCHR | 0o600, rdev=(major, minor))

    def close(self):
        self._entry("TRAILER!!!", 0)
        self.f.close()


# --- the build ---------------------------------------------------------------

def recipe_hash(versions):
    h = hashlib.sha256()
    for p, v in versions:
        h.update(f"{p}={v}\n".encode())
    for f in (INIT, os.path.abspath(__file__)):
        with open(f, "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()[:10]


def guest_dir(versions, cache=CACHE, flavour=CLOUD):
    (_, kv), (_, bv), (_, fv) = versions
    kernel = versions[0][0][len("linux-image-"):]
    safe = re.sub(r"[^\w.+-]", "_", f"{kernel}-{kv}_busybox-{bv}_fio-{fv}")
    return os.path.join(cache, f"{flavour.name}-{safe}-{recipe_hash(versions)}")


def check_config(config_path, flavour=CLOUD):
    with open(config_path) as f:
        have = set(line.strip() for line in f)
    missing = [c for c in KERNEL_CONFIG + flavour.config if c not in have]
    if missing:
        raise BuildError(f"{os.path.basename(config_path)}: the guest needs "
                         f"{', '.join(missing)} (built in, not a module)")


def build(cache=CACHE, progress=print, flavour=CLOUD):
    """Build the guest of a flavour if its directory is missing; return the directory."""
    kapt = Apt(flavour.suite, cache)
    kapt.update(progress)
    log(progress, f"resolving package versions with apt-cache ({flavour.name} kernel)")
    versions = resolve(flavour, kapt)
    out = guest_dir(versions, cache, flavour)
    if os.path.exists(os.path.join(out, "manifest.json")):
        log(progress, f"up to date: {os.path.relpath(out, ROOT)}")
        return out
    log(progress, "building " + ", ".join(f"{p} {v}" for p, v in versions))
    debs = os.path.join(cache, "debs")
    os.makedirs(cache, exist_ok=True)
    for old in os.listdir(cache):  # left by a build that was killed
        m = re.match(r"build-(\d+)-", old)
        if m and not process_alive(m[1]):
            shutil.rmtree(os.path.join(cache, old), ignore_errors=True)
    work = tempfile.mkdtemp(prefix=f"build-{os.getpid()}-", dir=cache)
    try:
        kernel_pkg = versions[0][0]
        packages = fetch([kernel_pkg], debs, progress, kapt)
        packages.update(fetch([p for p, _ in versions[1:]], debs, progress))
        release = kernel_pkg[len("linux-image-"):]
        log(progress, f"unpacking {kernel_pkg}")
        kroot = unpack(packages[kernel_pkg][0], os.path.join(work, "kernel"))
        config = os.path.join(kroot, "boot", f"config-{release}")
        vmlinuz = os.path.join(kroot, "boot", f"vmlinuz-{release}")
        for f in (config, vmlinuz):
            if not os.path.isfile(f):
                raise BuildError(f"{kernel_pkg}: no /boot/{os.path.basename(f)} in it")
        check_config(config, flavour)
        stage = os.path.join(work, "guest")
        os.makedirs(stage)
        shutil.copyfile(vmlinuz, os.path.join(stage, "vmlinuz"))
        modules = {}
        for m in flavour.modules:
            f = os.path.join(kroot, "lib", "modules", release, "kernel", m)
            if not os.path.isfile(f):
                raise BuildError(f"{kernel_pkg}: no module {m} in it (bench/net's pktgen "
                                 f"on {flavour.nic} needs it)")
            with open(f, "rb") as fh:
                modules[os.path.basename(m)] = fh.read()
        shutil.rmtree(kroot)

        sysroot = Sysroot(os.path.join(work, "sysroot"))
        for p in (BUSYBOX, FIO):
            sysroot.add(p, packages[p][0])
        busybox = sysroot.find("/bin/busybox")
        if not busybox:
            raise BuildError(f"{BUSYBOX}: no /bin/busybox in it")
        if not sysroot.find("/usr/bin/fio"):
            raise BuildError(f"{FIO}: no /usr/bin/fio in it")
        log(progress, "finding the shared objects fio loads")
        files = close_libraries(sysroot, "/usr/bin/fio", packages, debs, progress)

        log(progress, f"writing the initramfs: busybox, fio and {len(files) - 1} shared objects")
        cpio = Cpio(os.path.join(stage, "initrd.img"))
        for d in ("dev", "proc", "sys", "tmp", "bin", "sbin", "usr/bin", "usr/sbin"):
            cpio.mkdir(d)
        # The kernel opens /dev/console for init before devtmpfs is mounted.
        cpio.chardev("dev/console", 5, 1)
        with open(busybox[1], "rb") as f:
            cpio.file("bin/busybox", f.read())
        with open(INIT, "rb") as f:
            cpio.file("init", f.read())
        for guest, host in sorted(files.items()):
            with open(host, "rb") as f:
                cpio.file(guest.lstrip("/"), f.read())
        for name, data in modules.items():
            cpio.file(f"lib/modules/{release}/{name}", data, mode=0o644)
        cpio.file("etc/net-modules", "".join(f"{n}\n" for n in modules).encode(), mode=0o644)
        cpio.close()

        manifest = {
            "flavour": flavour.name,
            "kernel": {"package": kernel_pkg, "version": versions[0][1], "release": release},
            "busybox": {"package": BUSYBOX, "version": versions[1][1]},
            "fio": {"package": FIO, "version": versions[2][1]},
            "packages": {p: fields["Version"] for p, (_, fields) in sorted(packages.items())},
            "shared objects": sorted(g for g in files if g != "/usr/bin/fio"),
            "modules": list(modules),
            "sizes": {n: os.path.getsize(os.path.join(stage, n))
                      for n in ("vmlinuz", "initrd.img")},
        }
        with open(os.path.join(stage, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=1)
        os.rename(stage, out)
        # This flavour's builds of older versions or recipes (and builds from
        # before flavours) are not used again; the .debs and the other
        # flavours' builds stay.
        others = tuple(f"{f}-" for f in FLAVOURS if f != flavour.name)
        for old in os.listdir(cache):
            if (old not in ("debs", os.path.basename(out)) and not old.startswith("build-")
                    and not old.startswith(others) and not old.startswith(APT_DIR)):
                shutil.rmtree(os.path.join(cache, old), ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log(progress, f"built {os.path.relpath(out, ROOT)}: vmlinuz "
                  f"{manifest['sizes']['vmlinuz'] >> 20} MiB, initrd.img "
                  f"{manifest['sizes']['initrd.img'] >> 20} MiB, {len(packages)} packages")
    return out


def manifest(guest):
    with open(os.path.join(guest, "manifest.json")) as f:
        return json.load(f)


# --- running it ----------------------------------------------------------------

def cmdline(jobs, ms, ramp_ms=500):
    """The kernel command line running fio for each (mix, qd) in jobs, ms each after
    ramp_ms not measured."""
    return (f"console=ttyS0 quiet panic=-1 fio_ms={ms} fio_ramp_ms={ramp_ms} "
            f"fio_jobs={','.join(f'{m}:{q}' for m, q in jobs)}")


def pktgen_cmdline(jobs, ms, extra=""):
    """The kernel command line running pktgen on eth0 for each (frame bytes without FCS,
    clone_skb) in jobs, ms each."""
    return (f"console=ttyS0 quiet panic=-1 pktgen_ms={ms} "
            f"pktgen_jobs={','.join(f'{n}:{c}' for n, c in jobs)}" + (f" {extra}" if extra else ""))


def send_cmdline(jobs, dst_mac, extra=""):
    """The kernel command line making pktgen a packet source: for each (device, count,
    min, max, delay) in jobs, exactly count frames of min to max bytes (without FCS) to
    dst_mac, delay ns apart (bench/linux-guest/init's pktgen_send)."""
    return (f"console=ttyS0 quiet panic=-1 pktgen_dst_mac={dst_mac} pktgen_send=" +
            ",".join(":".join(map(str, job)) for job in jobs) +
            (f" {extra}" if extra else ""))


def read_boot(lines, results, rules):
    """What every parser of a guest boot's lines shares: {'ready': (release, uptime) or
    None, the results entry (its key and empty value from `results`), 'errors': [text],
    'done': bool}. A line that is not READY goes to the first of rules, (pattern,
    take(match, out)), whose pattern it matches; one that matches none may be DONE."""
    out = {"ready": None, **results, "errors": [], "done": False}
    for line in lines:
        m = READY.search(line)
        if m:
            out["ready"] = (m[1], float(m[2]))
            continue
        for pattern, take in rules:
            m = pattern.search(line)
            if m:
                take(m, out)
                break
        else:
            if re.search(DONE, line):
                out["done"] = True
    return out


def parse_send(lines):
    """A pktgen_send boot's lines: {'ready': ..., 'sent': {device: (count asked, packets
    pktgen sent, us, pktgen's errors)}, 'errors': [text], 'done': bool}."""
    def sent(m, out):
        out["sent"][m[1]] = tuple(int(m[i]) for i in range(2, 6))

    def send_failed(m, out):
        out["errors"].append(f"pktgen send on {m[1] or '?'}: {m[2]}")

    return read_boot(lines, {"sent": {}}, [
        (SEND, sent), (SEND_FAILED, send_failed),
        (FAILED, lambda m, out: out["errors"].append(m[3]))])


def parse_pktgen(lines):
    """A pktgen boot's lines: {'ready': ..., 'results': [(frame bytes, clone_skb, packets,
    ns)], 'errors': [text], 'done': bool}; packets and ns from pktgen's own Result line."""
    def result(m, out):
        size, clone, pkts, usec = (int(m[i]) for i in range(1, 5))
        if usec == 0:
            out["errors"].append(f"pktgen size={size} clone={clone}: ran 0 us")
        elif pkts == 0:  # pktgen stops at once on a device that has lost its carrier
            out["errors"].append(f"pktgen size={size} clone={clone}: sent 0 packets in "
                                 f"{usec} us")
        else:
            out["results"].append((size, clone, pkts, usec * 1000))

    def failed(m, out):
        out["errors"].append(" ".join(g for g in m.groups() if g))

    def unexpected(m, out):
        out["errors"].append(f"unexpected line: {m.string.strip()}")

    return read_boot(lines, {"results": []}, [
        (PKTGEN, result), (PKTGEN_FAILED, failed), (FAILED, failed), (PKTGEN_OTHER, unexpected)])


def parse(lines):
    """What one fio boot printed: {'ready': (release, uptime) or None, 'results': [(mix, qd,
    ops, ns)], 'errors': [text], 'done': bool}. ops comes from the KiB fio moved and the
    mix's block size; ns from fio's runtime (ms resolution)."""
    def result(m, out):
        mix, qd, err, kib, ms = m[1], int(m[2]), int(m[3]), int(m[4]), int(m[5])
        if mix not in MIXES:
            out["errors"].append(f"unknown mix {mix!r} in: {m.string.strip()}")
        elif err or ms == 0:
            out["errors"].append(f"fio {mix} qd={qd}: error {err}, {ms} ms")
        else:
            out["results"].append((mix, qd, kib * 1024 // MIXES[mix][1], ms * 1_000_000))

    def failed(m, out):
        out["errors"].append(f"fio {m[1]} qd={m[2]}: {m[3]}" if m[1] else m[3])

    return read_boot(lines, {"results": []}, [(RESULT, result), (FAILED, failed)])
