"""tools: every host tool refuses a bad invocation with a usage error (exit 2,
the exact message, nothing else done), a benchmark whose boots fail
writes no results file, and tools/hosted-link relinks a maple-hosted whose
layout alone spells a forbidden instruction. No VM boots: each bad
invocation must stop before setup, build or QEMU; one that does not is
killed and fails its test.
"""
import os
import re
import signal
import subprocess
import tempfile

from harness.qemu import MIN_MEMORY_MIB, ROOT

from . import ORDER
from .common import Failure, test

# How long a refusal may take: it parses its arguments and exits. A tool that
# accepts the invocation goes on to build or boot and is stopped here.
REFUSAL_TIMEOUT = 30
BENCH_TIMEOUT = 120
# The tools that run ci/setup and ci/build first unless told not to.
SETS_UP = ("ci/run-vm", "ci/test", "bench/boot", "bench/xcall", "bench/recovery", "bench/nvme",
           "bench/nvme-checks")
SIZE_HINT = "is not a size (a whole number with an optional K, M, G or T; no suffix means MiB)"
GROUPS = ", ".join(ORDER)

# (tool and arguments, its last line on stderr); the environment's extra
# variables, if any, are a third element.
REFUSALS = [
    (["ci/run-vm", "--memory", "1K"], "ci/run-vm: error: argument --memory: 1K is less than "
     f"the {MIN_MEMORY_MIB['uefi']}M Maple needs on the uefi path"),
    (["ci/run-vm", "--firmware", "bios", "--memory", f"{MIN_MEMORY_MIB['bios'] // 2}M"],
     f"ci/run-vm: error: argument --memory: {MIN_MEMORY_MIB['bios'] // 2}M is less than the "
     f"{MIN_MEMORY_MIB['bios']}M Maple needs on the bios path"),
    (["ci/run-vm", "--memory", "lots"], f"ci/run-vm: error: argument --memory: 'lots' {SIZE_HINT}"),
    (["ci/run-vm", "--memory", "1.5G"], f"ci/run-vm: error: argument --memory: '1.5G' {SIZE_HINT}"),
    (["ci/run-vm", "--smp", "0"], "ci/run-vm: error: argument --smp: 0 is less than 1"),
    (["ci/run-vm", "--smp", "-2"], "ci/run-vm: error: argument --smp: -2 is less than 1"),
    (["ci/run-vm", "--smp", "two"],
     "ci/run-vm: error: argument --smp: 'two' is not a whole number"),
    (["ci/run-vm", "--bogus"], "ci/run-vm: error: unknown option --bogus"),
    (["ci/run-vm", "--mem", "1G"], "ci/run-vm: error: unknown option --mem"),
    (["ci/run-vm", "stray"], "ci/run-vm: error: unexpected argument 'stray'"),
    (["ci/run-vm"], "ci/run-vm: error: MAPLE_TIMEOUT_SCALE='-1': must be a number above 0 "
     "(it multiplies every timeout)", {"MAPLE_TIMEOUT_SCALE": "-1"}),
    (["ci/run-vm"], "ci/run-vm: error: MAPLE_TIMEOUT_SCALE='fast': must be a number above 0 "
     "(it multiplies every timeout)", {"MAPLE_TIMEOUT_SCALE": "fast"}),
    (["ci/test", "--only", ""], "ci/test: error: argument --only: '' has an empty entry; give "
     f"one or more of {GROUPS}, separated by commas"),
    (["ci/test", "--only", "bogus"], "ci/test: error: argument --only: unknown entry 'bogus'; "
     f"choose from {GROUPS}"),
    (["ci/test", "--only", "boot", "--skip", "boot"],
     "ci/test: error: --skip leaves none of --only's groups (boot) to run"),
    (["ci/test", "--bogus"], "ci/test: error: unknown option --bogus"),
    (["ci/setup", "--bogus"], "ci/setup: error: unknown option --bogus"),
    (["ci/qemu10", "--bogus"], "ci/qemu10: error: unknown option --bogus"),
    (["ci/qemu10", "now"], "ci/qemu10: error: unexpected argument 'now'"),
    (["ci/qemu82599", "--bogus"], "ci/qemu82599: error: unknown option --bogus"),
    (["ci/qemu82599", "now"], "ci/qemu82599: error: unexpected argument 'now'"),
    (["ci/run-vm", "--qemu", "9.0"], "ci/run-vm: error: argument --qemu: invalid choice: '9.0' "
     "(choose from 'distro', '10.0', '82599')"),
    (["ci/build", "--bogus"], "ci/build: error: unknown option --bogus"),
    (["ci/build", "kernel"], "ci/build: error: unexpected argument 'kernel'"),
    (["ci/libvirt-test", "--esp", ""], "ci/libvirt-test: error: argument --esp: must not be empty"),
    (["ci/libvirt-test", "--bogus"], "ci/libvirt-test: error: unknown option --bogus"),
    (["ci/harness/selftest.py", "--bogus"],
     "ci/harness/selftest.py: error: unknown option --bogus"),
    (["bench/boot", "--firmware", ""], "bench/boot: error: argument --firmware: '' has an empty "
     "entry; give one or more of bios, uefi, separated by commas"),
    (["bench/boot", "--firmware", "bios,,uefi"], "bench/boot: error: argument --firmware: "
     "'bios,,uefi' has an empty entry; give one or more of bios, uefi, separated by commas"),
    (["bench/boot", "--firmware", "bios,bios"],
     "bench/boot: error: argument --firmware: bios given twice"),
    (["bench/boot", "--runs", "0"], "bench/boot: error: argument --runs: 0 is less than 1"),
    (["bench/boot", "--runs", "-1"], "bench/boot: error: argument --runs: -1 is less than 1"),
    (["bench/xcall", "--runs", "0"], "bench/xcall: error: argument --runs: 0 is less than 1"),
    (["bench/xcall", "--baseline", ""],
     "bench/xcall: error: argument --baseline: must not be empty"),
    (["bench/xcall", "--hosted", "--firmware", "uefi"],
     "bench/xcall: error: --hosted runs no VM and compares no baseline: drop --baseline and "
     "--firmware"),
    (["bench/xcall", "--native-no-keys"],
     "bench/xcall: error: --native-no-keys is a mode of --hosted: add --hosted"),
] + [
    # The gate with its WRPKRUs as NOPs is bench's measurement mode alone (hosted/main.c).
    (["out/hosted/maple-hosted", cmd, *args, "--nop-wrpkru"],
     f"maple-hosted: {cmd}: --nop-wrpkru refused: only `bench` has it (the gate's WRPKRUs as "
     "NOPs, nothing isolated: a measurement mode)")
    for cmd, args in (("run", ["out/domains/hello.elf"]), ("serve", ["x.sock"]), ("test", []),
                      ("faults", []), ("load", ["out/domains/hello.elf"]))
] + [
    (["bench/recovery", "--runs", "-3"],
     "bench/recovery: error: argument --runs: -3 is less than 1"),
    (["bench/recovery", "--bogus"], "bench/recovery: error: unknown option --bogus"),
    (["bench/nvme", "--runs", "0"], "bench/nvme: error: argument --runs: 0 is less than 1"),
    (["bench/nvme", "--ru", "2"], "bench/nvme: error: unknown option --ru"),
    (["bench/nvme", "--ms", "5"], "bench/nvme: error: --ms 5: must be from 100 to 60000"),
    (["bench/nvme", "--note", ""], "bench/nvme: error: --note: must be one non-empty line"),
    (["bench/hosted-pairs", "--label", "x", "--runs", "0"],
     "bench/hosted-pairs: error: argument --runs: 0 is less than 1"),
    (["bench/hosted-pairs", "--label", "A b"],
     "bench/hosted-pairs: error: --label 'A b': lowercase letters, digits and '-' only"),
    (["bench/hosted-pairs", "--label", "x", "--a-tree", "/nonexistent"],
     "bench/hosted-pairs: error: --a-tree /nonexistent: no out/hosted/maple-hosted there "
     "(build that tree)"),
    (["bench/hosted-pairs", "--label", "x", "--b-name", "before"],
     "bench/hosted-pairs: error: --a-name and --b-name are both 'before': name the sides apart"),
    (["bench/nvme-checks", "--runs", "0"],
     "bench/nvme-checks: error: argument --runs: 0 is less than 1"),
    (["bench/nvme-checks", "--ms", "99"],
     "bench/nvme-checks: error: --ms 99: must be from 100 to 60000"),
    (["images/mkesp", "--bogus", "a", "b", "c", "d"],
     "images/mkesp: error: unknown option --bogus"),
    (["images/mkesp", "a", "b", "c"], "images/mkesp: error: expected at least 4 arguments, got 3"),
    (["images/mkesp", "", "b", "c", "d"], "images/mkesp: error: OUT.img must not be empty"),
    (["images/libvirt-define", "--name", ""],
     "images/libvirt-define: error: argument --name: must not be empty"),
    (["images/libvirt-define", "--name", "a/b"], "images/libvirt-define: error: argument --name: "
     "'a/b': use letters, digits, '-', '_' and '.' only"),
    (["images/libvirt-define", "--bogus"], "images/libvirt-define: error: unknown option --bogus"),
    (["tools/configure", "--bogus"], "tools/configure: error: unknown option --bogus"),
    (["tools/idlc", "-o", "", "domains/idl/bdev.idl"],
     "idlc: error: argument -o: must not be empty"),
    (["tools/idlc", "--bogus", "domains/idl/bdev.idl"], "idlc: error: unknown option --bogus"),
    (["tools/check-gate-object"],
     "tools/check-gate-object: error: the following arguments are required: object"),
    (["tools/check-kernel-image"],
     "tools/check-kernel-image: error: the following arguments are required: kernel"),
    (["tools/asm-offsets", "in.s"],
     "tools/asm-offsets: error: the following arguments are required: dst"),
    (["tools/ksyms"], "tools/ksyms: error: expected one ELF file"),
    (["tools/hosted-link"],
     "tools/hosted-link: error: the following arguments are required: out, linker"),
    (["tools/hosted-link", "out/x"],
     "tools/hosted-link: error: the following arguments are required: linker"),
    (["tools/qemu-82599/fuzz.py", "--seconds", "0"],
     "tools/qemu-82599/fuzz.py: error: argument --seconds: 0 is not above 0 seconds"),
    (["tools/qemu-82599/fuzz.py", "--iterations", "0"],
     "tools/qemu-82599/fuzz.py: error: argument --iterations: 0 is less than 1"),
    (["tools/qemu-82599/fuzz.py", "--seed", "x"],
     "tools/qemu-82599/fuzz.py: error: argument --seed: invalid int value: 'x'"),
    (["tools/qemu-82599/fuzz.py", "--qemu", "/nonexistent"], "tools/qemu-82599/fuzz.py: "
     "error: no QEMU with the model at /nonexistent (run ci/qemu82599)"),
]


def run_tool(argv, env=None, timeout=REFUSAL_TIMEOUT):
    """(status, stdout, stderr) of argv run from the checkout; Failure if it is
    still running after timeout (it was stopped, with everything it started)."""
    full = dict(os.environ)
    full.pop("MAPLE_TIMEOUT_SCALE", None)
    full.update(env or {})
    p = subprocess.Popen([os.path.join(ROOT, argv[0])] + argv[1:], cwd=ROOT, env=full,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise Failure(f"still running after {timeout} s: it accepted the invocation") from None
    return p.returncode, out, err


def refused(argv, expected, env=None):
    # Were the invocation accepted, the tool would not install or build first.
    rc, out, err = run_tool(argv + (["--no-setup", "--no-build"] if argv[0] in SETS_UP else []),
                            env)
    lines = err.strip().splitlines()
    last = lines[-1] if lines else ""
    if rc != 2 or last != expected:
        raise Failure(f"exit {rc}, last stderr line {last!r}; expected exit 2 and {expected!r}")
    if out:
        raise Failure(f"wrote to stdout before refusing: {out.strip().splitlines()[0]!r}")


def results_files():
    d = os.path.join(ROOT, "bench/results")
    return set(os.listdir(d)) if os.path.isdir(d) else set()


def failed_boot_writes_nothing(tool, args, expected):
    """The tool, with QEMU replaced by /bin/false so that every boot fails at
    once, exits 1 with `expected` as its last line and adds no results file."""
    before = results_files()
    try:
        rc, _, err = run_tool([tool, "--no-setup", "--no-build", "--runs", "1", *args],
                              {"MAPLE_QEMU": "/bin/false"}, BENCH_TIMEOUT)
    finally:
        new = sorted(results_files() - before)
        for f in new:  # written by a tool that should not have: do not keep it
            os.unlink(os.path.join(ROOT, "bench/results", f))
    lines = err.strip().splitlines()
    last = lines[-1] if lines else ""
    if new:
        raise Failure(f"wrote {', '.join(new)} from a run whose boots all failed (exit {rc})")
    if rc != 1 or last != expected:
        raise Failure(f"exit {rc}, last stderr line {last!r}; expected exit 1 and {expected!r}")


# An object whose one instruction, `lea layout_target(%rip), %rax` (48 8d 05 and the
# displacement), is placed SKIP bytes of .bss before its target.
PROBE = ("\t.text\n\t.globl layout_probe\nlayout_probe:\n\tlea layout_target(%rip), %rax\n"
         "\tret\n\t.bss\n\t.skip {skip}\n\t.globl layout_target\nlayout_target:\n\t.byte 0\n"
         "\t.section .note.GNU-stack, \"\", @progbits\n")


def xrstor_disp(least):
    """The least displacement from least on whose bytes are 0f ae M, M a memory operand of reg
    field 5: XRSTOR, one byte into it."""
    high = least >> 16
    while not ((high & 0xff) < 0xc0 and (high & 0x38) == 0x28 and (high << 16 | 0xae0f) >= least):
        high += 1
    return high << 16 | 0xae0f


def hosted_objects():
    with open(os.path.join(ROOT, "hosted/build.ninja")) as f:
        link = next(line for line in f if line.startswith("build $builddir/hosted/maple-hosted:"))
    objs = link.split(" xlink ", 1)[1].split(" | ")[0].split()
    return [os.path.join(ROOT, o.replace("$builddir", "out")) for o in objs]


def probe_link(d, skip, linker):
    """maple-hosted's objects and the probe with skip, linked by linker; its path."""
    src, obj, out = (os.path.join(d, n) for n in ("probe.S", "probe.o", "maple-hosted"))
    with open(src, "w") as f:
        f.write(PROBE.format(skip=skip))
    subprocess.run(["gcc", "-c", src, "-o", obj], check=True)
    r = subprocess.run(linker + [out, "gcc", "-static-pie", *hosted_objects(), obj],
                       capture_output=True, text=True)
    if r.returncode:
        raise Failure(f"{' '.join(linker) or 'gcc'} failed: {(r.stdout + r.stderr).strip()}")
    return out, r.stdout


def plain_link(d, skip):
    """The probe linked as gcc alone links it: the symbols' addresses and the audit's say."""
    out, _ = probe_link(d, skip, ["sh", "-c", 'exec "$@" -o "$0"'])
    syms = dict(line.split()[2::-2] for line in subprocess.run(
        ["nm", out], capture_output=True, text=True, check=True).stdout.splitlines()
        if len(line.split()) == 3)
    return int(syms["layout_probe"], 16), int(syms["layout_target"], 16), out


def hosted_link_relinks_a_spelled_xrstor():
    with tempfile.TemporaryDirectory() as d:
        at, target, _ = plain_link(d, 16)
        disp = xrstor_disp(target - (at + 7))
        skip = 16 + disp - (target - (at + 7))
        at, target, out = plain_link(d, skip)
        spelled = f"XRSTOR (0f ae {disp >> 16 & 0xff:02x}) at"
        want = f"forbidden instruction {spelled} {os.path.realpath(out)} offset {at + 3:#x}"
        r = subprocess.run([out, "audit"], capture_output=True, text=True)
        if r.returncode != 1 or want not in r.stdout:
            raise Failure(f"gcc's link alone: audit exit {r.returncode}, want 1 with '{want}': "
                          f"{r.stdout.strip().splitlines()[-1:]}")
        out, said = probe_link(d, skip, [os.path.join(ROOT, "tools/hosted-link")])
        # 64 bytes, unless that layout spells another (the probe's skip moved glibc's too).
        if not re.fullmatch(rf"hosted-link: {re.escape(out)}: \d+ bytes of padding in \.data, as "
                            rf"the layout without it spelled (.*, )?{re.escape(spelled)} offset "
                            rf"{at + 3:#x}(, .*)?\n", said):
            raise Failure(f"tools/hosted-link said {said!r}")
        r = subprocess.run([out, "audit"], capture_output=True, text=True)
        if r.returncode != 0:
            raise Failure(f"after tools/hosted-link: audit exit {r.returncode}: "
                          f"{r.stdout.strip().splitlines()[-1:]}")


def run():
    for case in REFUSALS:
        argv, expected = case[0], case[1]
        env = case[2] if len(case) > 2 else None
        # One word per test name: tools/refuse:TOOL[ARG,ARG] with '' for an empty one.
        label = f"{argv[0]}[{','.join(a or repr(a) for a in argv[1:])}]"
        if env:
            label = ",".join(f"{k}={v}" for k, v in env.items()) + ":" + label
        test(f"tools/refuse:{label}", refused, argv, expected, env)
    test("tools/bench-boot-failed-run-writes-no-results", failed_boot_writes_nothing,
         "bench/boot", ["--firmware", "bios"],
         "bench/boot: 1 of 1 boots failed; no results file written")
    test("tools/bench-nvme-checks-failed-run-writes-no-results", failed_boot_writes_nothing,
         "bench/nvme-checks", [],
         "bench/nvme-checks: 1 of 1 boots failed, 0 guest errors; no results file written")
    test("tools/bench-xcall-failed-run-writes-no-results", failed_boot_writes_nothing,
         "bench/xcall", [], "bench/xcall: a benchmark boot failed: QEMU stopped before "
         "`bench: xcall done`: exit status 1")
    test("tools/hosted-link-relinks-a-layout-that-spells-xrstor",
         hosted_link_relinks_a_spelled_xrstor)
