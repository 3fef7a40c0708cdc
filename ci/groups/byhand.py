"""byhand: libvirt by hand as the README says: images/libvirt-define writes an XML
that validates and names only this checkout's files; a domain it defines boots
under its default, the embedded driver in out/libvirt/embed, and, where a
libvirt daemon answers, under qemu:///system (skipped without one: ci/setup
installs none); each run leaves the ESP's owner and mode as they were.
"""
import os
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET

from harness.ctl import CtlClient
from harness.qemu import ESP, READY, ROOT, TIMEOUT_SCALE, clean_line

from .common import Failure, tally, test

DEFINE = os.path.join(ROOT, "images/libvirt-define")
OUT = os.path.join(ROOT, "out/libvirt")
QEMU_NS = "{http://libvirt.org/schemas/domain/qemu/1.0}"
# Files outside the checkout the XML may name: the emulator.
SYSTEM_FILES = ("/usr/bin/qemu-system-x86_64",)
# What images/libvirt-define defines on by default (ci/harness/libvirt.py).
EMBED_URI = f"qemu:///embed?root={OUT}/embed"
SYSTEM_URI = "qemu:///system"
SYSTEM_SOCKET = "/run/libvirt/libvirt-sock"
# libvirt 9.0's system daemon may probe QEMU again for each call on a host whose
# /dev/kvm is root-only (docs/architecture.md, "libvirt"): a minute per call.
VIRSH_TIMEOUT = 300 * TIMEOUT_SCALE
BOOT_TIMEOUT = 120 * TIMEOUT_SCALE


def call(argv, timeout):
    try:
        r = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise Failure(f"{' '.join(argv)}: no answer in {timeout:.0f} s") from None
    except OSError as e:
        raise Failure(f"{argv[0]}: {e.strerror} (run ci/setup)") from None
    if r.returncode != 0:
        err = " / ".join(s for s in (r.stderr or r.stdout).strip().splitlines() if s.strip())
        raise Failure(f"{os.path.relpath(argv[0], ROOT) if argv[0].startswith(ROOT) else argv[0]}"
                      f" {' '.join(argv[1:])}: exit {r.returncode}: {err}")
    return r


def named_paths(dom):
    """Every file the domain XML names: sources, the emulator, and file= in QEMU arguments."""
    paths = [e.text.strip() for e in dom.iter("emulator")]
    for e in dom.iter():
        for key in ("file", "path"):
            if e.tag == "source" and e.get(key):
                paths.append(e.get(key))
        if e.tag == f"{QEMU_NS}arg":
            for opt in e.get("value", "").split(","):
                if opt.startswith("file="):
                    paths.append(opt[len("file="):])
    return paths


def define_xml():
    name = f"maple-byhand-{os.getpid()}"
    xml = os.path.join(OUT, f"{name}.xml")
    try:
        call([DEFINE, "--write-only", "--name", name], 60)
        call(["virt-xml-validate", xml, "domain"], 60)
        dom = ET.parse(xml).getroot()
    finally:
        if os.path.exists(xml):
            os.unlink(xml)
    if dom.findtext("name") != name:
        raise Failure(f"the XML names the domain {dom.findtext('name')!r}, not {name!r}")
    paths = named_paths(dom)
    outside = [p for p in paths if not p.startswith(ROOT + "/") and p not in SYSTEM_FILES]
    if outside:
        raise Failure(f"the XML names files outside this checkout: {', '.join(outside)}")
    if os.path.join(ROOT, "out/images/esp.img") not in paths:
        raise Failure(f"the XML does not boot this checkout's ESP; it names {', '.join(paths)}")
    missing = sorted({os.path.dirname(p) for p in paths if not os.path.isdir(os.path.dirname(p))})
    if missing:
        raise Failure(f"directories the domain needs were not made: {', '.join(missing)}")
    esp = [d for d in dom.iter("disk") if d.find("source") is not None
           and d.find("source").get("file", "").endswith("/out/images/esp.img")][0]
    label = esp.find("source/seclabel")
    if label is None or (label.get("model"), label.get("relabel")) != ("dac", "no"):
        raise Failure("the ESP's <source> lacks <seclabel model='dac' relabel='no'/>: libvirt "
                      "would chown the build's ESP to its QEMU user and never give it back")


def owner(path):
    st = os.stat(path)
    return (st.st_uid, st.st_gid, oct(st.st_mode & 0o7777))


def qemu_of(name):
    """Whether a QEMU runs libvirt domain `name` (its argv has guest=NAME)."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if os.path.basename(argv[0]).startswith(b"qemu-system") and any(
                a.startswith(f"guest={name},".encode()) or a == f"guest={name}".encode()
                for a in argv):
            return True
    return False


def by_hand(uri, connect):
    """Define with images/libvirt-define (its --connect: connect), start, wait for
    `maple: ready`, ask the console for help, destroy and undefine, as the README
    says; the ESP's owner and mode must not change, then or after."""
    name = f"maple-byhand-{os.getpid()}"
    virsh = ["virsh", "-q", "-c", uri]
    log, sock = os.path.join(OUT, "com1.log"), os.path.join(OUT, "ctl.sock")
    before = owner(ESP)
    if os.path.exists(log):  # virtlogd appends: an old `maple: ready` must not count
        os.unlink(log)
    call([DEFINE, "--name", name] + connect, VIRSH_TIMEOUT)
    try:
        call(virsh + ["start", name], VIRSH_TIMEOUT)
        deadline = time.monotonic() + BOOT_TIMEOUT
        while True:
            try:
                with open(log, "rb") as f:
                    lines = [clean_line(s) for s in f.read().split(b"\n")]
            except FileNotFoundError:
                lines = []
            if any(READY in s for s in lines):
                break
            if time.monotonic() > deadline:
                raise Failure(f"no `{READY}` in {os.path.relpath(log, ROOT)} after "
                              f"{BOOT_TIMEOUT:.0f} s; last lines: {lines[-3:]}")
            time.sleep(0.5)
        with CtlClient(sock).connect(10) as c:
            r = c.command("help", timeout=10 * TIMEOUT_SCALE)
        if not r.ok:
            raise Failure(f"`help` on {os.path.relpath(sock, ROOT)} answered {r.status}")
        during = owner(ESP)
        # Its status is not checked: the embedded driver, having stopped QEMU,
        # may answer "domain is not running" (its monitor saw QEMU go first).
        subprocess.run(virsh + ["destroy", name], capture_output=True, timeout=VIRSH_TIMEOUT)
        if qemu_of(name):
            raise Failure(f"QEMU of {name} still runs after `virsh destroy`")
        call(virsh + ["undefine", "--nvram", name], VIRSH_TIMEOUT)
    finally:
        # After a failure: stop and remove whatever is left.
        if qemu_of(name):
            subprocess.run(virsh + ["destroy", name], capture_output=True, timeout=VIRSH_TIMEOUT)
        subprocess.run(virsh + ["undefine", "--nvram", name], capture_output=True,
                       timeout=VIRSH_TIMEOUT)
        xml = os.path.join(OUT, f"{name}.xml")
        if os.path.exists(xml):
            os.unlink(xml)
    after = owner(ESP)
    if (during, after) != (before, before):
        raise Failure(f"out/images/esp.img (uid, gid, mode) was {before}, {during} while the "
                      f"domain ran, {after} after it")


def run():
    test("byhand/define-xml", define_xml)
    if os.path.exists(os.path.join(OUT, "ctl.sock")):
        tally.skip("byhand/embedded-run", "out/libvirt/ctl.sock exists: a domain defined by "
                   "hand seems to run; destroy it first")
    else:
        test("byhand/embedded-run", by_hand, EMBED_URI, [])
    if not shutil.which("virsh"):
        tally.skip("byhand/system-run", "virsh is not installed (run ci/setup)")
    elif not os.path.exists(SYSTEM_SOCKET):
        tally.skip("byhand/system-run", f"no libvirt daemon ({SYSTEM_SOCKET} is absent; it needs "
                   "libvirt-daemon-system, which ci/setup does not install, and without systemd "
                   "`virtlogd -d; libvirtd -d` as root)")
    elif os.path.exists(os.path.join(OUT, "ctl.sock")):
        tally.skip("byhand/system-run", "out/libvirt/ctl.sock exists: a domain defined by hand "
                   "seems to run; destroy it first")
    else:
        test("byhand/system-run", by_hand, SYSTEM_URI, ["--connect", SYSTEM_URI])

