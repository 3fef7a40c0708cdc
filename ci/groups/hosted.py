"""hosted: maple-hosted, the Linux-hosted platform (docs/platform.md): the
protection-key probe agrees with /proc/cpuinfo, every built domain image is
placed at the VM's slot address with the VM's key layout, the images built to
be refused are refused with the VM loader's exact message, the process holds no
PKRU-writing instruction but the runtime's audited sites (`maple-hosted audit`),
hello runs and answers a call through the gate page's return (and, started with the
signals it handles blocked or queued, rogue's system calls are served and its faults fail it
alone), `maple-hosted bench`
prints every row of bench/xcall --hosted with numbers (not a performance check; the
WRPKRU pair without PKU gives the reason it cannot; `bench --nop-wrpkru` makes exactly
the gate's WRPKRUs that objdump decodes NOPs, prints each of the gate's pieces, `part`,
with numbers or why not, in a process that allocates no key, with PKU or without), and
`maple-hosted test`
(hosted/tests_*.c: rogue's raw Linux system call, 32-bit system call, Linux system
call from the runtime's code, forged rt_sigreturn without the runtime's secret,
faults and bad log pointers contained and failing rogue alone; under protection
keys, forged rt_sigreturns that would give PKRU 0,
rogue's reads and writes of another domain, TRUSTED and the runtime failing
with SEGV_PKUERR, cross-domain calls through the gate and unwinding, and the
RRef cases of kernel/ktest/rrefs.c) reports one test each, a SKIP naming the
missing PKU where the machine has none.

The key-dependent cases (the probe finds keys, every image is placed under its
own key, the refused images are refused with keys on, hello runs under its key,
the bench's rows with the WRPKRU pair and the gate's real WRPKRUs, and
`maple-hosted test` with its keyed tests) need a CPU with PKU. On such a host
the cases above are those; on one without (this machine), they run again as
hosted/keys/... with keys expected: the group boots the Linux baseline guest
under TCG `-cpu max`, which emulates PKU (ci/harness/hostedguest.py), once for
all of them, and says which it did. The host-only cases take about a second;
the guest boot 15-40 s under TCG.

A check runs all its maple-hosted commands before it judges any output, so the
guest path can list a check's commands first (record), run them all in one
boot, and then judge the outputs (replay).
"""
import glob
import os
import re
import signal
import socket
import subprocess
import tempfile

from harness import hostedguest, linuxguest
from harness.qemu import ROOT, VmError

from .common import Failure, idl_method, log_path, progress, tally, test

HOSTED = os.path.join(ROOT, "out/hosted/maple-hosted")
DOMAINS = os.path.join(ROOT, "out/domains")
TIMEOUT = 30
ABI_H = os.path.join(ROOT, "kernel/include/maple/abi.h")
# Images that exist to be refused, the instruction each carries and its bytes.
REFUSED = {"bad_wrpkru": ("WRPKRU", b"\x0f\x01\xef"), "bad_xrstor": ("XRSTOR", b"\x0f\xae\x2f"),
           "bad_wrgsbase": ("WRGSBASE", b"\x0f\xae\xd8")}
NO_PKU = "hosted: pku: no: the CPU lacks PKU (CPUID.7.0:ECX bit 3 clear)"


def c_constant(path, name):
    """A #define or enum constant's value as the C header defines it (read, never copied)."""
    with open(path) as f:
        m = re.search(rf"^(?:#define\s+|\s+){name}\s+=?\s*(0x[0-9a-fA-F]+|\d+)U?L?\b",
                      f.read(), re.M)
    if not m:
        raise Failure(f"{path} defines no {name}")
    return int(m[1], 0)


def abi(name):
    return c_constant(ABI_H, name)


def cpu_has_pku():
    """What /proc/cpuinfo says, independently of maple-hosted's own CPUID probe."""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                flags = line.split(":", 1)[1].split()
                return "pku" in flags and "ospke" in flags
    return False


class Recorder:
    """The guest path's first pass: note each command, answer nothing useful."""

    def __init__(self):
        self.commands = []

    def __call__(self, args):
        self.commands.append(list(args))
        return 0, [], ""


class Replay:
    """The guest path's second pass: the guest's answers, in the order recorded."""

    def __init__(self, commands, answers):
        self.pending = list(zip(commands, answers))

    def __call__(self, args):
        if not self.pending or self.pending[0][0] != list(args):
            raise Failure(f"maple-hosted {' '.join(args)}: not the command recorded "
                          f"({self.pending[0][0] if self.pending else 'none left'})")
        return self.pending.pop(0)[1]


# Where maple-hosted runs: None here, or a Recorder or Replay for the guest.
runner = None


def inherit(blocked, pending):
    """In the child before exec: block BLOCKED and, with PENDING, queue each of them."""
    signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    for sig in blocked if pending else ():
        os.kill(os.getpid(), sig)


def hosted(*args, blocked=(), pending=False):
    """maple-hosted ARGS, here or in the guest; BLOCKED: signals it inherits blocked (here),
    PENDING: and queued."""
    if runner is not None:
        return runner(args)
    try:
        r = subprocess.run([HOSTED, *args], cwd=ROOT, capture_output=True, text=True,
                           errors="replace", timeout=TIMEOUT, stdin=subprocess.DEVNULL,
                           preexec_fn=(lambda: inherit(blocked, pending)) if blocked else None)
    except subprocess.TimeoutExpired:
        raise Failure(f"maple-hosted {' '.join(args)} did not finish in {TIMEOUT} s")
    except OSError as e:
        raise Failure(f"{HOSTED}: cannot run: {e.strerror} (build it with ninja)")
    return r.returncode, r.stdout.splitlines(), r.stderr


def check_probe(pku):
    rc, out, err = hosted("probe")
    want = (f"hosted: pku: yes: TRUSTED {abi('PKEY_TRUSTED')} SHARED {abi('PKEY_SHARED')} "
            f"GATE_RO {abi('PKEY_GATE_RO')}, domains from {abi('PKEY_FIRST_DOMAIN')}"
            if pku else NO_PKU)
    if rc != 0 or out != [want]:
        raise Failure(f"probe: exit {rc}, said {out} {err.strip()!r}; want [{want!r}]")


# The runtime's audited sites (hosted/audit.c), in address order: its PKRU writes, each
# checked after its WRPKRU, and the handler entries' base writes, each checked likewise.
AUDITED = [("WRPKRU (0f 01 ef)", "hosted_enter_wrpkru"),
           ("WRPKRU (0f 01 ef)", "entry_keyed_fault_wrpkru"),
           ("WRPKRU (0f 01 ef)", "entry_keyed_sigsys_wrpkru"),
           ("WRFSBASE (0f ae d0)", "entry_restore_fsbase"),
           ("WRGSBASE (0f ae d8)", "entry_restore_gsbase"),
           ("WRPKRU (0f 01 ef)", "hosted_wrpkru_pair_first"),
           ("WRPKRU (0f 01 ef)", "hosted_wrpkru_pair_second")]


def check_audit():
    """`maple-hosted audit`: the process's executable memory (the static binary, the vDSO)
    holds a WRPKRU, WRFSBASE or WRGSBASE at each audited site and no other WRPKRU, XRSTOR,
    XRSTORS, WRFSBASE or WRGSBASE anywhere: no glibc pkey_set, no ld.so XRSTOR, no unchecked
    runtime WRPKRU."""
    rc, out, err = hosted("audit")
    want = [f"hosted: audit: {insn} at {name}, audited" for insn, name in AUDITED]
    summary = (rf"hosted: audit: {len(AUDITED)} of {len(AUDITED)} audited sites and 0 other "
               r"forbidden instructions in \d+ executable mappings \(\d+ KiB\)")
    if rc != 0 or out[:-1] != want or len(out) != len(want) + 1 or not re.fullmatch(summary,
                                                                                    out[-1]):
        raise Failure(f"audit: exit {rc}, said {out} {err.strip()!r}; want exit 0, {want} "
                      f"and /{summary}/")


def images():
    names = sorted(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(DOMAINS, "*.elf")))
    if not names:
        raise Failure(f"no domain images in {DOMAINS} (build them with ninja)")
    return [n for n in names if n not in REFUSED]


def check_places_every_image(pku):
    """Each process holds at most one image per domain key, as the VM does."""
    names = images()
    first, base, slot = abi("PKEY_FIRST_DOMAIN"), abi("MAPLE_DOMAIN_BASE"), abi("MAPLE_DOMAIN_SLOT")
    keys = abi("PKEY_COUNT") - first
    batches = [names[start:start + keys] for start in range(0, len(names), keys)]
    answers = [hosted("load", *(os.path.join(DOMAINS, n + ".elf") for n in batch))
               for batch in batches]
    for batch, (rc, out, err) in zip(batches, answers):
        loaded = [line for line in out if line.startswith("hosted: loaded ")]
        if rc != 0 or len(loaded) != len(batch):
            raise Failure(f"load {' '.join(batch)}: exit {rc}: {out} {err.strip()!r}")
        for i, (name, line) in enumerate(zip(batch, loaded)):
            dom_id = i + 1
            key = first + i if pku else -1
            want = (rf"hosted: loaded {re.escape(name)} id {dom_id} at "
                    rf"{base + dom_id * slot:#x}, \d+ KiB, entry \+0x[0-9a-f]+, "
                    rf"key {key} \(smaps {key}\)")
            if not re.fullmatch(want, line):
                raise Failure(f"{name}: said {line!r}, want /{want}/")


def check_refuses(name, pku):
    instruction, pattern = REFUSED[name]
    path = os.path.join(DOMAINS, name + ".elf")
    with open(path, "rb") as f:
        offset = f.read().find(pattern)
    if offset < 0:
        raise Failure(f"{path} does not hold {instruction} ({pattern.hex(' ')})")
    rc, out, err = hosted("load", path)
    want = (f"hosted: refused {name}.elf: forbidden instruction {instruction} "
            f"({pattern.hex(' ')}) at file offset {offset:#x} (segment 1)")
    lines = out[1:] if not pku else out  # without keys, the first line says so
    if rc != 1 or lines != [want]:
        raise Failure(f"exit {rc}, said {out} {err.strip()!r}; want exit 1 and [{want!r}]")


def run_image(name, *args):
    return hosted("run", os.path.join(DOMAINS, name + ".elf"), *map(str, args))


def check_runs_hello(pku):
    method = idl_method("hello", "Hello", "greet")
    rc, out, err = run_image("hello", method, 5)
    # Without keys the first line says so (the probe's reason).
    reason = NO_PKU[len("hosted: pku: no: "):]
    head = [] if pku else [f"hosted: placing without protection keys: {reason}"]
    line = out[len(head)] if len(out) > len(head) else ""
    m = re.fullmatch(r"\[hello\] hello: running in domain (\d+)", line)
    want = [*head, "[hello] hello: running in domain 1",
            "hosted: hello initialised: 0, 1 methods",
            f"hosted: hello method {method} returned {5 + int(m[1]) if m else '?'}",
            "hosted: hello's slot holds its image only"]
    if rc != 0 or out != want:
        raise Failure(f"exit {rc}, said {out} {err.strip()!r}; want exit 0 and {want}")


TEST_LINE = re.compile(r"hosted-test: (\S+) (ok|FAIL|SKIP)(?: (.*))?")
SUMMARY = re.compile(r"hosted-test: (\d+) passed, (\d+) failed, (\d+) skipped")


def run_tests(prefix="hosted/test"):
    """`maple-hosted test`: every line becomes a test of this group (PREFIX/NAME),
    a SKIP stays a skip with its reason, and the summary must agree with the lines."""
    rc, out, err = hosted("test")
    seen = {"ok": 0, "FAIL": 0, "SKIP": 0}
    summary = None
    for line in out:
        m = TEST_LINE.fullmatch(line)
        if m and not SUMMARY.fullmatch(line):
            name, verdict, reason = f"{prefix}/{m[1]}", m[2], m[3] or ""
            seen[verdict] += 1
            if verdict == "ok":
                tally.ok(name)
            elif verdict == "SKIP":
                tally.skip(name, reason)
            else:
                tally.fail(name, reason)
        elif SUMMARY.fullmatch(line):
            summary = tuple(map(int, SUMMARY.fullmatch(line).groups()))
    if summary != (seen["ok"], seen["FAIL"], seen["SKIP"]) or rc != (1 if seen["FAIL"] else 0):
        raise Failure(f"maple-hosted test: exit {rc}, summary {summary}, lines {seen}: "
                      f"{err.strip()!r}")


CTL = os.path.join(ROOT, "ci/ctl")


def ctl(sock, *args):
    """ci/ctl itself, unchanged, against maple-hosted's console."""
    r = subprocess.run([CTL, "--socket", sock, "--timeout", "10", *args], capture_output=True,
                       text=True, timeout=TIMEOUT)
    return r.returncode, r.stdout.splitlines()


def console_session(images, steps, before=None):
    """`maple-hosted serve` on IMAGES (under out/domains), then before(socket) if given, then
    ci/ctl for each step (args, wanted exit, wanted lines: a str literally, a compiled pattern
    in full), then the process must have exited 0 with its socket gone (the last step being
    `shutdown`)."""
    with tempfile.TemporaryDirectory(prefix="maple-hosted-ctl-") as tmp:
        sock = os.path.join(tmp, "ctl.sock")
        p = subprocess.Popen([HOSTED, "serve", sock] +
                             [os.path.join(DOMAINS, f"{i}.elf") for i in images], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                             stdin=subprocess.DEVNULL)
        try:
            lines = []
            for line in p.stdout:
                lines.append(line.rstrip("\n"))
                if line.startswith("hosted: console at "):
                    break
            if lines[-1:] != [f"hosted: console at {sock}"]:
                raise Failure(f"serve said {lines}, never 'hosted: console at {sock}'")
            if before:
                before(sock)
            for args, want_rc, want in steps:
                rc, out = ctl(sock, *args)
                if rc != want_rc or len(out) != len(want) or not all(
                        (w.fullmatch(o) if isinstance(w, re.Pattern) else w == o)
                        for w, o in zip(want, out)):
                    raise Failure(f"ci/ctl {' '.join(args)}: exit {rc}, said {out}; want exit "
                                  f"{want_rc} and {want}")
            rc = p.wait(timeout=TIMEOUT)
            if rc != 0 or os.path.exists(sock):
                raise Failure(f"after shutdown: exit {rc}, socket left: {os.path.exists(sock)}")
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()


def check_console(pku):
    """`maple-hosted serve` speaks the VM's console protocol: ci/ctl lists the domains, calls
    hello (greet(5) = 5 + its id 1), sees rogue's fault as an ERR and rogue failed after it,
    and shuts the process down (exit 0, socket gone)."""
    k1, k2 = (abi("PKEY_FIRST_DOMAIN"), abi("PKEY_FIRST_DOMAIN") + 1) if pku else (-1, -1)
    rogue_run = idl_method("rogue", "Rogue", "run")
    null_deref = c_constant(os.path.join(ROOT, "domains/test/rogue/cases.h"), "ROGUE_NULL_DEREF")
    console_session(("hello", "rogue"), [
        (("domains",), 0, [f"  1 hello running key {k1} calls 1",
                           f"  2 rogue running key {k2} calls 1", "OK"]),
        (("call", "hello", str(idl_method("hello", "Hello", "greet")), "5"), 0, ["  6", "OK"]),
        (("call", "rogue", str(rogue_run), str(null_deref)), 1,
         [re.compile(r"ERR rogue failed: SIGSEGV \(SEGV_MAPERR\) at rogue\+0x[0-9a-f]+, "
                     r"address 0")]),
        (("domains",), 0, [f"  1 hello running key {k1} calls 2",
                           f"  2 rogue failed key {k2} calls 2", "OK"]),
        (("call", "nope", "0"), 1, ["ERR no domain 'nope' (see 'domains')"]),
        (("shutdown",), 0, ["OK"]),
    ])


def check_console_thread_never_ends(pku):
    """A domain thread that never ends does not hold the console: rogue's call starts one
    (ROGUE_W_THREAD_BUSY for 2^62 ns, in its own frame, which has no deadline) and is answered
    with its thread id after the wait for the threads a call made (8 s, under ci/ctl's 10 s);
    `kill rogue` is then heard and the thread unwinds at its next system call, and `shutdown`
    ends the process. Before, the call was never answered, and neither was anything after it."""
    rogue_run = str(idl_method("rogue", "Rogue", "run"))
    busy = c_constant(os.path.join(ROOT, "domains/test/rogue/watch_cases.h"),
                      "ROGUE_W_THREAD_BUSY")
    console_session(("rogue",), [
        (("call", "rogue", rogue_run, str(busy), str(1 << 62)), 0,
         [re.compile(r"  [1-9][0-9]*"), "OK"]),
        (("kill", "rogue"), 0, ["  rogue failed; its next caller gets an error", "OK"]),
        (("shutdown",), 0, ["OK"]),
    ])


def console_behind_client(pku, hold):
    """ci/ctl's `domains` and `shutdown` answered while another client, connected first and
    given to hold(client), misbehaves: the console must drop that client in time."""
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)

    def connect_and_hold(sock):
        client.connect(sock)
        hold(client)

    key = abi("PKEY_FIRST_DOMAIN") if pku else -1
    try:
        console_session(("hello",), [
            (("domains",), 0, [f"  1 hello running key {key} calls 1", "OK"]),
            (("shutdown",), 0, ["OK"]),
        ], before=connect_and_hold)
    finally:
        client.close()


def check_console_idle_client(pku):
    """A client that connects and never ends a line does not hold the console: it sends `dom`
    and waits; after 5 s without a line end (CONSOLE_LINE_MS) the console drops it and answers
    ci/ctl's `domains`, waiting behind it, within ci/ctl's 10 s. Before, the console read the
    first client for ever: ci/ctl 'no complete reply ... within 20 s (nothing came back at
    all ...)', exit 2."""
    def hold(client):
        client.sendall(b"dom")

    console_behind_client(pku, hold)


def check_console_unread_client(pku):
    """A client that sends commands and never reads their replies does not hold the console:
    it sends 64 KiB of `help` lines at once and reads nothing, so the console's replies fill
    the socket; after 5 s without room for a reply (CONSOLE_LINE_MS) the console drops it,
    runs none of its commands still buffered, and answers ci/ctl's `domains`, waiting behind
    it, within ci/ctl's 10 s. Before (attack12), the console waited in its reply's send for
    ever: ci/ctl 'no complete reply ... (nothing came back at all ...)', exit 2."""
    def hold(client):
        client.settimeout(5)
        client.sendall(b"help\n" * (64 * 1024 // 5))

    console_behind_client(pku, hold)


def check_console_shared_name(pku):
    """A name two running domains share addresses neither, as on the VM's console
    (kernel/domain/names.c: `kill hello` must not fail whichever hello comes first); with the
    first killed, the name addresses the one still running (greet(5) = 5 + its handle 2)."""
    greet = str(idl_method("hello", "Hello", "greet"))
    console_session(("hello", "hello"), [
        (("call", "hello", greet, "5"), 1,
         ["ERR 'hello' names 2 domains: give an id (see 'domains')"]),
        (("kill", "hello"), 1, ["ERR 'hello' names 2 domains: give an id (see 'domains')"]),
        (("kill", "1"), 0, ["  hello failed; its next caller gets an error", "OK"]),
        (("call", "hello", greet, "5"), 0, ["  7", "OK"]),
        (("shutdown",), 0, ["OK"]),
    ])


def check_console_recovery(pku):
    """The membdev recovery by hand, as the VM's `recovery` group drives it: `domains` lists
    the membdev bdev_shadow created in its init; a bdclient workload (its thread runs before
    the call answers), `inject membdev pf`, a workload through the restarted driver, `kill
    membdev`, `destroy` it, `create` one and destroy it (the runtime's authority; no path
    names a module), another workload: no error, no wrong or unverifiable block, membdev
    serving again, made by the shadow."""
    k = abi("PKEY_FIRST_DOMAIN") if pku else None
    key = (lambda n: k + n) if pku else (lambda n: -1)
    bdc = lambda m: str(idl_method("bdclient", "BdClient", m))
    stat = lambda n: ("call", "bdclient", bdc("stat"), str(n))
    counters = os.path.join(ROOT, "out/gen/idl/bdclient_methods.h")
    errors, lost, unverified = (c_constant(counters, n)
                                for n in ("BDC_ERRORS", "BDC_LOST", "BDC_UNVERIFIED"))
    console_session(("bdev_shadow", "bdclient"), [
        (("domains",), 0, [f"  1 bdev_shadow running key {key(0)} calls 1",
                           f"  2 membdev running key {key(1)} calls 1",
                           f"  3 bdclient running key {key(2)} calls 1", "OK"]),
        (("call", "bdclient", bdc("start"), "256", "50"), 0, ["  0", "OK"]),
        (("inject", "membdev", "pf"), 0,
         ["  armed: the next call into membdev takes a pf fault", "OK"]),
        (("call", "bdclient", bdc("start"), "256", "50"), 0, ["  0", "OK"]),
        (("kill", "membdev"), 0, ["  membdev failed; its next caller gets an error", "OK"]),
        (("kill", "membdev"), 1, ["ERR membdev is not running"]),
        (("destroy", "membdev"), 0, ["OK"]),
        (("create", "membdev"), 0, [f"  created membdev: id 2, key {key(1)}", "OK"]),
        (("destroy", "2"), 0, ["OK"]),
        (("create", "../membdev"), 1, ["ERR no boot module named '../membdev'"]),
        (("call", "bdclient", bdc("start"), "256", "50"), 0, ["  0", "OK"]),
        (stat(errors), 0, ["  0", "OK"]),
        (stat(lost), 0, ["  0", "OK"]),
        (stat(unverified), 0, ["  0", "OK"]),
        (("domains",), 0, [re.compile(rf"  1 bdev_shadow running key {key(0)} calls \d+"),
                           re.compile(rf"  2 membdev running key {key(1)} calls \d+"),
                           re.compile(rf"  3 bdclient running key {key(2)} calls \d+"), "OK"]),
        (("shutdown",), 0, ["OK"]),
    ])


def check_serve_keeps_a_file():
    """A path that is not a socket is not removed: serve refuses it (exit 2) and the file
    keeps its bytes."""
    with tempfile.TemporaryDirectory(prefix="maple-hosted-ctl-") as tmp:
        path = os.path.join(tmp, "notes.txt")
        with open(path, "w") as f:
            f.write("keep\n")
        rc, out, err = hosted("serve", path, os.path.join(DOMAINS, "hello.elf"))
        with open(path) as f:
            kept = f.read() if os.path.isfile(path) else None
        if rc != 2 or kept != "keep\n" or f"{path}: cannot listen" not in err:
            raise Failure(f"serve on a file: exit {rc}, file now {kept!r}, stderr {err.strip()!r};"
                          " want exit 2, the file unchanged, 'cannot listen'")


# The signals maple-hosted handles for a domain (hosted/entry.c): its faults' and SIGSYS, and
# a test that raises each (hello's and rogue's system calls, a nested create's).
HANDLED = (signal.SIGSEGV, signal.SIGILL, signal.SIGFPE, signal.SIGBUS, signal.SIGTRAP,
           signal.SIGSYS)
RAISES_EACH = ["hello-answers", "rogue-raw-linux-syscall-is-enosys", "rogue-null-deref-fails-rogue",
               "rogue-div-zero-fails-rogue", "rogue-ud2-fails-rogue",
               "rogue-int3-fails-rogue-at-the-trap", "domain-shadow-creates-its-driver-in-its-init"]


def check_inherited_blocked_signals():
    """Started with every signal it handles blocked (a mask survives exec), maple-hosted still
    serves a domain's system calls and fails only the domain at its fault: Linux forces a
    blocked synchronous signal to its default action, a kill of the whole process (before
    entry_init unblocked them, every test here said 'the runtime died of SIGSYS', at its
    domain's first system call)."""
    rc, out, err = hosted("test", *RAISES_EACH, blocked=HANDLED)
    ok = {m[1] for m in map(TEST_LINE.fullmatch, out) if m and m[2] == "ok"}
    summary = f"hosted-test: {len(RAISES_EACH)} passed, 0 failed, 0 skipped"
    if rc != 0 or ok != set(RAISES_EACH) or summary not in out:
        raise Failure(f"exit {rc}, said {[line for line in out if 'hosted-test' in line]}; "
                      f"want exit 0, '{summary}' and each of {RAISES_EACH} ok")


def check_inherited_pending_signals(pku):
    """Started with SIGSEGV and SIGSYS blocked and queued (pending signals survive exec), rogue's
    null dereference fails rogue alone: each pending one is discarded before its handler is
    installed. Before, the queued SIGSEGV reached its handler at the unblock with no upcall to
    fail, which reset it to the default action, and rogue's fault then killed the process
    (exit -11, no output)."""
    method = idl_method("rogue", "Rogue", "run")
    rc, out, err = hosted("run", os.path.join(DOMAINS, "rogue.elf"), str(method), "6",
                          blocked=(signal.SIGSEGV, signal.SIGSYS), pending=True)
    head = [] if pku else [f"hosted: placing without protection keys: "
                           f"{NO_PKU[len('hosted: pku: no: '):]}"]
    want = [*head, "hosted: rogue initialised: 0, 1 methods",
            "[rogue] rogue: case 6 (null dereference), target 0x0",
            re.compile(rf"hosted: rogue failed in method {method}: SIGSEGV \(SEGV_MAPERR\) at "
                       r"rogue\+0x[0-9a-f]+, address 0"),
            "hosted: rogue's slot holds its image only"]
    if rc != 1 or len(out) != len(want) or not all(
            w.fullmatch(o) if isinstance(w, re.Pattern) else w == o for w, o in zip(want, out)):
        raise Failure(f"exit {rc}, said {out} {err.strip()!r}; want exit 1 and {want}")


def check_usage():
    argvs = ([], ["load"], ["bench", "12"], ["test", "no-such-test"], ["bench", "x"],
             ["frob"], ["run"], ["run", "x.elf", "zero"],
             ["run", "x.elf", "0", "1", "2", "3", "4", "5"], ["serve"], ["serve", "x.sock"])
    for args, (rc, out, err) in zip(argvs, [hosted(*args) for args in argvs]):
        if rc != 2 or out or not err:
            raise Failure(f"maple-hosted {' '.join(args)}: exit {rc}, stdout {out}; want exit 2 "
                          "and a message on stderr only")


# `maple-hosted bench`'s rows: issue 12's list and the hosted runtime's own (bench/xcall
# --hosted), each of which must print numbers or, where it cannot be measured, exactly why.
BENCH_ROWS = ["getppid", "wrpkru-pair", "upcall-null", "direct-call", "null-syscall",
              "xcall-null", "xcall-4-args", "xcall-nested-a-b-c-a", "xcall-move-rref",
              "xcall-move-deque-32", "rref-alloc-free", "proxy-call-membdev",
              "proxy-call-via-shadow", "submit-32-reads-membdev", "submit-32-reads-via-shadow",
              "submit-32-writes-membdev", "submit-32-writes-via-shadow", "fault-to-caller-error"]
BENCH_SAMPLES = 100
FAULT_SAMPLES = 64  # hosted/bench.c: a fresh rogue each


def check_bench_rows(pku, *flags):
    """`maple-hosted bench` prints every row, in order, with numbers (median and p99 with the
    bracket subtracted, and raw), but for the WRPKRU pair without PKU, which must give the
    probe's exact reason; the proxy rows through bdev_shadow and the membdev it creates too;
    then the CPU it ran on and the derived lines. Not a performance check: any number
    passes. Its lines, for more checks of flags' modes."""
    rc, out, err = hosted("bench", *flags, str(BENCH_SAMPLES))
    lines = [line for line in out if line.startswith("hosted-bench: ")]
    reason = NO_PKU[len("hosted: pku: no: "):]
    rows = [line.split()[1] for line in lines
            if re.fullmatch(r"hosted-bench: \S+ (median \d+ .*|not measured: .*)", line)]
    if rc != 0 or rows != BENCH_ROWS:
        raise Failure(f"bench {BENCH_SAMPLES}: exit {rc}, rows {rows}; want exit 0 and rows "
                      f"{BENCH_ROWS}: {err.strip()[-300:]!r}")
    if not any(re.fullmatch(r"hosted-bench: cpu .+; microcode \S+", line) for line in lines) or \
            not any(re.fullmatch(rf"hosted-bench: bracket raw-median \d+ raw-p99 \d+ samples "
                                 rf"{BENCH_SAMPLES} .*", line) for line in lines):
        raise Failure(f"bench: no cpu line or no bracket line in {lines}")
    absent = {} if pku else {"wrpkru-pair": reason}
    for row in BENCH_ROWS:
        n = FAULT_SAMPLES if row == "fault-to-caller-error" else BENCH_SAMPLES
        want = (re.escape(f"hosted-bench: {row} not measured: {absent[row]}") if row in absent
                else rf"hosted-bench: {row} median \d+ p99 \d+ raw-median \d+ raw-p99 \d+ "
                     rf"samples {n}")
        if not any(re.fullmatch(want, line) for line in lines):
            got = [line for line in lines if line.startswith(f"hosted-bench: {row} ")]
            raise Failure(f"bench: {row}: said {got}; want /{want}/")
    derived = [r"hosted-bench: derived xcall-null-over-getppid \d+\.\d{3}",
               "hosted-bench: derived xcall-null-minus-4-wrpkru not measured: the gate's "
               "WRPKRUs are NOPs in this run" if "--nop-wrpkru" in flags else
               r"hosted-bench: derived xcall-null-minus-4-wrpkru -?\d+" if pku else
               "hosted-bench: derived xcall-null-minus-4-wrpkru not measured: no wrpkru-pair row"]
    for want in derived:
        if not any(re.fullmatch(want, line) for line in lines):
            raise Failure(f"bench: no line /{want}/ in {lines[-3:]}")
    return lines


def gate_wrpkru_offsets():
    """Where objdump finds a WRPKRU in the gate pages of out/kernel/kernel.elf, as offsets
    from __gate_start: a decoder's view, not the byte scan maple-hosted makes."""
    kernel = os.path.join(ROOT, "out/kernel/kernel.elf")
    syms = dict(line.split()[::-2] for line in subprocess.run(
        ["nm", kernel], capture_output=True, text=True, check=True).stdout.splitlines()
        if len(line.split()) == 3)
    lo, hi = int(syms["__gate_start"], 16), int(syms["__gate_end"], 16)
    dis = subprocess.run(["objdump", "-d", f"--start-address={lo:#x}",
                          f"--stop-address={hi:#x}", kernel], capture_output=True, text=True,
                         check=True).stdout
    return [int(m[1], 16) - lo for m in re.finditer(r"^\s*([0-9a-f]+):[^\n]*\twrpkru\s*$", dis,
                                                     re.M)]


def check_bench_nop_wrpkru(pku):
    """`maple-hosted bench --nop-wrpkru`, in a process that allocates no key, with PKU or
    without: every row as `bench` prints it (the WRPKRU pair measured where the CPU has PKU),
    the line naming each WRPKRU of the gate page made a NOP, at exactly the offsets objdump
    decodes, and, with PKU, the line saying that no key is allocated."""
    lines = check_bench_rows(pku, "--nop-wrpkru")
    keys = ("hosted-bench: protection keys: yes, none allocated: --nop-wrpkru: the gate's "
            "WRPKRUs are made NOPs before any domain runs and every page keeps key 0, so the "
            "cross-domain rows time the gate's other work, the same code as a keyed run's "
            "without its PKRU writes")
    if pku and keys not in lines:
        raise Failure(f"bench --nop-wrpkru with PKU: no line {keys!r}; said "
                      f"{[line for line in lines if 'protection keys' in line]}")
    sites = gate_wrpkru_offsets()
    want = (f"hosted-bench: nop-wrpkru: the gate page's {len(sites)} WRPKRUs are NOPs (0f 1f 00) "
            f"at {' '.join(f'gate+{o:#x}' for o in sites)}; no WRPKRU executes and nothing is "
            "isolated: a measurement, never a run of Maple")
    if want not in lines:
        raise Failure(f"bench --nop-wrpkru: no line {want!r}; said "
                      f"{[line for line in lines if 'nop-wrpkru' in line]}")
    check_bench_parts(lines)


# `bench --nop-wrpkru`'s pieces of the gate (hosted/bench.c, parts): the null call at the
# runtime's own clear_vectors level, then at each level from none up, then each piece alone.
BENCH_PIECES = ["call-return", "zero-vectors-sse", "zero-vectors-avx", "zero-vectors-avx512",
                "zero-vectors-inuse", "x87", "mxcsr", "xmm", "vzeroall", "hi16-zmm", "opmask",
                "xgetbv1", "gate-rmw4", "locked-rmw4", "plain-rmw4", "rdtsc", "push-pop6"]
BENCH_LEVELS = ["keep", "sse", "avx", "avx512", "inuse"]


def check_bench_parts(lines):
    """Every `part` line has numbers, or says the CPU lacks what it needs; the pieces come in
    order after the levels, and the levels are the runtime's own, then none up to below it
    (x86-64 always runs keep and sse, so the runtime's level is at least sse)."""
    part = re.compile(r"hosted-bench: part (\S+) (median \d+ p99 \d+ raw-median \d+ raw-p99 \d+ "
                      rf"samples (\d+)|not measured: this CPU or XCR0 lacks it)")
    found = [m for m in map(part.fullmatch, lines) if m]
    names = [m[1] for m in found]
    levels = [n[len("xcall-null-vectors-"):] for n in names if n.startswith("xcall-null-vectors-")]
    own = BENCH_LEVELS.index(levels[0]) if levels and levels[0] in BENCH_LEVELS else -1
    want = ([f"xcall-null-vectors-{v}" for v in [BENCH_LEVELS[own]] + BENCH_LEVELS[:own]]
            + BENCH_PIECES)
    odd = [line for line in lines if line.startswith("hosted-bench: part ") and
           not part.fullmatch(line)]
    if own < 1 or names != want or odd:
        raise Failure(f"bench --nop-wrpkru: part lines {names}, want {want}; malformed: {odd}")
    unmeasured = [m[1] for m in found if m[1] in ("xcall-null-vectors-keep", "call-return", "x87")
                  and m[2].startswith("not measured")]
    if unmeasured:
        raise Failure(f"bench --nop-wrpkru: {unmeasured} not measured; every x86-64 CPU runs them")


def key_cases():
    """(name, check, args) of the cases that need protection keys, checked with keys on."""
    return ([("probe", check_probe, True), ("audit", check_audit),
             ("places-every-image", check_places_every_image, True)]
            + [(f"refuses-{name}", check_refuses, name, True) for name in REFUSED]
            + [("runs-hello", check_runs_hello, True), ("bench-rows", check_bench_rows, True),
               ("bench-nop-wrpkru-makes-every-gate-wrpkru-a-nop", check_bench_nop_wrpkru, True),
               ("test", run_tests, "hosted/keys/test")])


def run_key_cases_in_guest(cases):
    """Record every case's commands, run them all in one boot of the PKU guest, replay."""
    global runner
    recorder = runner = Recorder()
    spans = []
    try:
        for _, fn, *args in cases:
            start = len(recorder.commands)
            try:
                fn(*args)
            except Failure:
                pass  # the recorded answers are empty; only the commands matter here
            spans.append((start, len(recorder.commands)))
    finally:
        runner = None
    try:
        answers, release = hostedguest.run(recorder.commands, progress=progress,
                                           log_path=log_path("hosted/keys"))
    except linuxguest.BuildError as e:
        for name, *_ in cases:
            tally.skip(f"hosted/keys/{name}", f"this CPU lacks PKU and the PKU guest cannot be "
                       f"built: {e}")
        return
    except VmError as e:
        for name, *_ in cases:
            tally.fail(f"hosted/keys/{name}", f"in the PKU guest: {e}", getattr(e, "tail", ""))
        return
    probe = answers[0][1]
    if probe and probe[0].startswith("hosted: pku: no"):
        for name, *_ in cases:
            tally.skip(f"hosted/keys/{name}", f"this CPU lacks PKU and so does the guest "
                       f"(its probe: {probe[0]})")
        return
    progress(f"hosted/keys: in the Linux guest ({release}) under TCG -cpu max, whose PKU QEMU "
             f"emulates: {len(recorder.commands)} commands in one boot")
    for (name, fn, *args), (start, end) in zip(cases, spans):
        runner = Replay(recorder.commands[start:end], answers[start:end])
        try:
            # run_tests reports each of its lines itself.
            test(f"hosted/keys/{name}", fn, *args, report_pass=fn is not run_tests)
        finally:
            runner = None


def run():
    pku = cpu_has_pku()
    test("hosted/probe", check_probe, pku)
    test("hosted/audit", check_audit)
    test("hosted/places-every-image", check_places_every_image, pku)
    for name in REFUSED:
        test(f"hosted/refuses-{name}", check_refuses, name, pku)
    test("hosted/runs-hello", check_runs_hello, pku)
    test("hosted/bench-rows", check_bench_rows, pku)
    test("hosted/bench-nop-wrpkru-makes-every-gate-wrpkru-a-nop", check_bench_nop_wrpkru, pku)
    test("hosted/test", run_tests, report_pass=False)
    test("hosted/console-speaks-ci-ctl", check_console, pku)
    test("hosted/console-lists-created-domains-and-recovers-membdev", check_console_recovery, pku)
    test("hosted/console-name-shared-by-running-domains-addresses-none",
         check_console_shared_name, pku)
    test("hosted/console-answers-a-call-whose-thread-never-ends",
         check_console_thread_never_ends, pku)
    test("hosted/console-drops-a-client-that-ends-no-line", check_console_idle_client, pku)
    test("hosted/console-drops-a-client-that-reads-no-reply", check_console_unread_client, pku)
    test("hosted/serve-keeps-a-file-at-its-socket-path", check_serve_keeps_a_file)
    test("hosted/usage", check_usage)
    test("hosted/inherited-blocked-signals-fail-only-the-domain", check_inherited_blocked_signals)
    test("hosted/inherited-pending-signals-are-discarded", check_inherited_pending_signals, pku)
    if pku:
        progress("hosted/keys: the cases above ran with keys: this CPU has PKU")
    else:
        progress("hosted/keys: this CPU lacks PKU (no pku/ospke in /proc/cpuinfo): running the "
                 "key cases in the Linux guest")
        run_key_cases_in_guest(key_cases())
