"""domains: `domains`, `inject`, `kill`, `destroy`, `create` through the console
(production kernel); the authority case drives rogue with `call` (test
kernel), and so does the empty-segment case, on a rogue.elf made with an empty
executable segment; the isolation modes without PKU or with isolation=off.
"""
import os
import re
import struct
import tempfile

from harness.qemu import TEST_KERNEL, Config, default_cmdline, domain_images

from .common import (INJECTED, ROOT, Failure, boot_ready, checks_on_one_boot, expect_reply,
                     expect_state, idl_method, test, vm)


def dom_listed(v):
    for name in ("victim", "xa", "xb", "xc"):
        expect_state(v, name, "running")


def dom_inject(v):
    expect_reply(v, "inject victim pf", True)
    expect_state(v, "victim", "failed", "#PF")
    v.wait_for(r"domain: victim \(id \d+\) failed: " + INJECTED["pf"], 10,
               what="the failure log line")


def dom_kill(v):
    expect_reply(v, "kill xb", True)
    expect_state(v, "xb", "failed", "killed from the control console")


def dom_recreate(v):
    expect_reply(v, "destroy xb", True)
    expect_reply(v, "destroy xb", False)
    expect_reply(v, "create xb", True)
    expect_state(v, "xb", "running")


def dom_bad_input(v):
    expect_reply(v, "inject xc bogus", False)
    expect_reply(v, "kill no-such-domain", False)
    expect_reply(v, "create bad_wrpkru", False)
    expect_state(v, "xc", "running")


def dom_names(v):
    """Two domains named xb: the name addresses neither (docs/isolation.md, "Names"), each
    id its own; before, `kill xb` failed whichever came first in the table."""
    expect_reply(v, "create xb", True)
    r = v.command("domains")
    ids = [line.split()[0] for line in r.lines if line.split()[1:2] == ["xb"]]
    if len(ids) != 2:
        raise Failure(f"`domains` lists {len(ids)} xb, expected 2: {r.lines}")
    r = v.command("kill xb")
    want = "'xb' names 2 domains: give an id (see 'domains')"
    if r.ok or r.reason != want:
        raise Failure(f"`kill xb` with two xb answered {r.status!r}; expected ERR {want}")
    expect_reply(v, f"kill {ids[1]}", True)
    expect_reply(v, f"destroy {ids[1]}", True)
    expect_state(v, "xb", "running")


def dom_authority():
    """rogue (created by the console) may not destroy victim: -MAPLE_EPERM, one
    log line naming both, victim still there (domains/test/rogue/cases.h, case 40).
    The test kernel: rogue's case runs through the console's `call`."""
    cfg = Config(firmware="bios", smp=2, cmdline="domains=victim", kernel=TEST_KERNEL,
                 modules=domain_images())
    with vm("domains/authority", cfg) as v:
        boot_ready(v, "bios")
        expect_state(v, "victim", "running")
        expect_reply(v, "create rogue", True)
        mark = v.mark()
        rogue_run = f"call rogue {idl_method('rogue', 'Rogue', 'run')} 40 0"
        r = v.command(rogue_run)
        if not r.ok or not re.search(r"returned -1$", " ".join(r.lines)):
            raise Failure(f"rogue destroying victim answered {r.status} {r.lines}", v.tail())
        v.wait_for(r"domain: rogue \(id \d+\) may not destroy victim \(id \d+\): not its creator",
                   10, since=mark, what="the refusal's log line")
        expect_state(v, "victim", "running")
        expect_state(v, "rogue", "running")
        # Asking again and again: DOMAIN_REFUSALS_LOGGED (8) lines, then one saying so.
        for _ in range(11):
            expect_reply(v, rogue_run, True)
        v.wait_for(r"domain: rogue \(id \d+\): 8 requests refused; further refusals are not "
                   r"logged", 10, since=mark, what="the line that ends the refusal lines")
        refusals = len(v.find(r"rogue \(id \d+\) may not destroy victim", since=mark))
        if refusals != 8:
            raise Failure(f"{refusals} refusal lines for 12 refusals, want 8", v.tail())
        expect_reply(v, "destroy rogue", True)


PT_LOAD, PT_GNU_STACK, PF_X, PF_R, PAGE = 1, 0x6474e551, 1, 4, 4096


def header_define(path, name):
    """A #define's value, a string literal's or a number's, as the C header has it (read,
    never copied)."""
    with open(os.path.join(ROOT, path)) as f:
        m = re.search(rf'^#define\s+{name}\s+(?:"([^"]*)"|(0x[0-9a-fA-F]+)U?L?\b)', f.read(), re.M)
    if not m:
        raise Failure(f"{path} defines no {name}")
    return m[1] if m[1] is not None else int(m[2], 0)
PHDR = struct.Struct("<IIQQQQQQ")  # type, flags, offset, vaddr, paddr, filesz, memsz, align


def rogue_with_empty_exec(path, out):
    """rogue.elf with an empty (p_memsz 0) readable and executable PT_LOAD listed first, just
    below the end of the page holding case 480's WRPKRU; RET in its read-only data (the
    PT_GNU_STACK header's place takes the PT_LOAD it displaces): the VM's twin of
    hosted/tests_lifecycle.c's image, made from the same bytes."""
    data = bytearray(open(path, "rb").read())
    mark = header_define("domains/test/rogue/image_cases.h", "ROGUE_I_MARK")
    at = data.find(mark.encode() + b"\x0f\x01\xef\xc3")
    phoff, = struct.unpack_from("<Q", data, 32)
    phnum, = struct.unpack_from("<H", data, 56)
    heads = [PHDR.unpack_from(data, phoff + i * PHDR.size) for i in range(phnum)]
    loads = [i for i, h in enumerate(heads) if h[0] == PT_LOAD]
    stack = [i for i, h in enumerate(heads) if h[0] == PT_GNU_STACK]
    code = [h[3] + at - h[2] + len(mark) for h in heads
            if h[0] == PT_LOAD and not h[1] & PF_X and h[2] <= at < h[2] + h[5]]
    if at < 0 or not loads or not stack or not code:
        raise Failure(f"rogue.elf: case 480's bytes at {at}, PT_LOADs {loads}, PT_GNU_STACK "
                      f"{stack}, in a segment without execute rights: {code}")
    vaddr = code[0] // PAGE * PAGE + PAGE - 1
    PHDR.pack_into(data, phoff + stack[0] * PHDR.size, *heads[loads[0]])
    PHDR.pack_into(data, phoff + loads[0] * PHDR.size, PT_LOAD, PF_R | PF_X, vaddr % PAGE, vaddr,
                   vaddr, 0, 0, PAGE)
    with open(out, "wb") as f:
        f.write(data)


def dom_empty_segment():
    """An empty executable segment makes no data page executable (kernel/lib/elf_reloc.c,
    elf_page_flags; rogue case 480): rogue, from the image above, calls the WRPKRU; RET in its
    read-only data with %eax 0 and fails at the fetch, #PF with error 0x15 (present, user,
    instruction fetch), its rip the faulting address, and the console's call hears -200
    (-MAPLE_ECALLEE). Before (attack12), the page was executable: `returned 24589`
    (ROGUE_NOT_CONTAINED: PKRU 0, every key, and the TRUSTED word written)."""
    with tempfile.TemporaryDirectory(prefix="maple-empty-segment-") as tmp:
        made = os.path.join(tmp, "rogue.elf")
        images = domain_images()
        rogue_with_empty_exec(next(f for f in images if os.path.basename(f) == "rogue.elf"),
                              made)
        cfg = Config(firmware="bios", smp=2, kernel=TEST_KERNEL,
                     modules=[made if os.path.basename(f) == "rogue.elf" else f for f in images])
        with vm("domains/empty-segment", cfg) as v:
            boot_ready(v, "bios")
            expect_reply(v, "create rogue", True)
            mark = v.mark()
            r = v.command(f"call rogue {idl_method('rogue', 'Rogue', 'run')} 480 "
                          f"{header_define('kernel/include/maple/abi.h', 'MAPLE_TRUSTED_VA')}")
            if not re.search(r"returned -200$", " ".join(r.lines)):  # -MAPLE_ECALLEE
                raise Failure(f"rogue's case 480 answered {r.status} {r.lines}; want it failed "
                              "at the fetch (-200)", v.tail())
            v.wait_for(r"domain: rogue \(id \d+\) failed: #PF at (0x[0-9a-f]+) \(error 0x15\), "
                       r"rip \1 ", 10, since=mark, what="the fetch's fault")
            expect_reply(v, "destroy rogue", True)


def isolation_mode(name, cpu, cmdline, check):
    """Boot the BIOS path with `-cpu cpu` and cmdline, then run check(v)."""
    cfg = Config(firmware="bios", smp=2, cmdline=f"{default_cmdline()} {cmdline}".strip(),
                 modules=domain_images(), extra=["-cpu", cpu])
    with vm(f"domains/{name}", cfg) as v:
        boot_ready(v, "bios")
        check(v)


def no_pku_refuses(v):
    """No PKU and no isolation=off: domains do not start, and say why."""
    v.wait_for(r"domain: no PKU on this CPU: domains will not start", 10, what="the PKU line")
    r = v.command("create victim")
    if r.ok or "no PKU on this CPU" not in " ".join(r.lines + [r.status]):
        raise Failure(f"`create victim` without PKU answered {r.status} {r.lines}", v.tail())


def no_pku_isolation_off_refused(v):
    """No PKU and isolation=off: refused by name (the gate needs WRPKRU), and
    domains still do not start."""
    v.wait_for(r"domain: isolation=off refused: domains always run under protection keys", 10,
               what="the refusal of isolation=off")
    no_pku_refuses(v)


def pku_isolation_off_still_isolates(v):
    """PKU and isolation=off: refused, and a protection-key fault still fails
    the domain (inject pk reads TRUSTED memory with the domain's rights)."""
    v.wait_for(r"domain: isolation=off refused: domains always run under protection keys", 10,
               what="the refusal of isolation=off")
    expect_reply(v, "create victim", True)
    expect_reply(v, "inject victim pk", True)
    expect_state(v, "victim", "failed")
    v.wait_for(r"domain: victim \(id \d+\) failed: " + INJECTED["pk"], 10,
               what="the protection-key fault")


ISOLATION_MODES = [("no-pku", "max,pku=off", "", no_pku_refuses),
                   ("no-pku-isolation-off", "max,pku=off", "isolation=off",
                    no_pku_isolation_off_refused),
                   ("pku-isolation-off", "max", "isolation=off", pku_isolation_off_still_isolates)]


DOMAIN_TESTS = [("listed", dom_listed), ("inject", dom_inject), ("kill", dom_kill),
                ("destroy-recreate", dom_recreate), ("bad-input", dom_bad_input),
                ("names", dom_names)]


def run():
    cfg = Config(firmware="bios", smp=2, cmdline="domains=victim,xa,xb,xc",
                 modules=domain_images())
    checks_on_one_boot("domains", cfg, DOMAIN_TESTS)
    test("domains/authority", dom_authority)
    test("domains/empty-segment-makes-no-data-executable", dom_empty_segment)
    for name, cpu, cmdline, check in ISOLATION_MODES:
        test(f"domains/{name}", isolation_mode, name, cpu, cmdline, check)
