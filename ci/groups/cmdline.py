"""cmdline: command-line hygiene on both boot paths. A command line with a
control byte (an ESC sequence, an embedded line break faking a log line, DEL)
is refused with one line naming the byte and its column, by efi-loader on UEFI
and by the kernel on multiboot, and its bytes never reach COM1 raw; and
`domains=` with an empty module name is an error naming the item, starting no
domain.
"""
from harness.qemu import LOADER_ERROR, READY, Config, domain_images

from .common import BOOT_TIMEOUT, Failure, progress, test, vm

# A terminal's "set window title" (OSC 0): no firmware prints it, so finding
# it in the raw serial log means the command line reached COM1 unescaped.
OSC_TITLE = "\x1b]0;pwned\x07"
# A line break followed by a fake kernel line: the log must not gain the line.
FAKE_READY = "\n[    0.100000] maple: ready"
BOOTING = r"maple: booting via"
LOADED = r"efi-loader: kernel 0x"
DOMAIN_CREATED = r"domain: \S+ created by"

# (case, the text after `console=com1 `, the refused byte); its column is
# len("console=com1 ") + 1 = 14.
CONTROL_CASES = [
    ("esc", OSC_TITLE, 0x1b),
    ("newline", FAKE_READY, 0x0a),
    ("del", "\x7fquiet", 0x7f),
]
COLUMN = len("console=com1 ") + 1


def raw_log(v):
    with open(v.log_path, "rb") as f:
        return f.read()


def check_not_echoed(v, payload):
    """The payload's bytes are nowhere in the raw serial log, and no line it fakes appeared."""
    if payload.encode() in raw_log(v):
        raise Failure(f"the command line {payload!r} reached COM1 raw", v.tail())
    if payload == FAKE_READY and v.find(READY):
        raise Failure("the command line's line break made a `maple: ready` line", v.tail())


def check_bios_refused(case, payload, byte):
    cfg = Config(firmware="bios", smp=1, cmdline="console=com1 " + payload)
    with vm(f"cmdline/bios-{case}", cfg) as v:
        hit = v.wait_for(r"kernel panic on cpu \d+: .*", BOOT_TIMEOUT, fail=BOOTING,
                         what="the kernel's panic line")
        progress(f"cmdline bios-{case}: {hit.text.strip()}")
        want = (f"kernel panic on cpu 0: boot: command line byte 0x{byte:02x} at column "
                f"{COLUMN} is not printable ASCII")
        if hit.text.strip() != want:
            raise Failure(f"`{hit.text.strip()}` is not `{want}`", v.tail())
        v.wait_for(r"maple: halted", 30, what="`maple: halted`")
        check_not_echoed(v, payload)


def check_uefi_refused(case, payload, byte):
    cfg = Config(firmware="uefi", smp=1, cmdline="console=com1 " + payload)
    with vm(f"cmdline/uefi-{case}", cfg) as v:
        start = v.wait_for(r"efi-loader: start", BOOT_TIMEOUT, what="`efi-loader: start`")
        hit = v.wait_for(LOADER_ERROR, 60, since=start.index, fail=BOOTING,
                         what="the loader's error line")
        progress(f"cmdline uefi-{case}: {hit.text.strip()}")
        want = (f"efi-loader: \\maple\\cmdline: byte 0x{byte:02x} at column {COLUMN} is not "
                f"printable ASCII")
        if hit.text.strip() != want:
            raise Failure(f"`{hit.text.strip()}` is not `{want}`", v.tail())
        v.wait_quiet(1.0, timeout=5)
        later = v.find(LOADED + "|" + BOOTING, since=start.index)
        if later:
            raise Failure(f"the boot went on: `{later[0].text.strip()}`", v.tail())
        check_not_echoed(v, payload)


def check_empty_domain(value, item):
    """`domains=<value>`: one line naming the empty item, no domain created, boot goes on."""
    cfg = Config(firmware="bios", smp=1, cmdline=f"console=com1 domains={value}",
                 modules=domain_images(include_bad=False))
    with vm(f"cmdline/domains-{value.replace(',', '_') or 'none'}", cfg) as v:
        v.wait_for(READY, BOOT_TIMEOUT, what="`maple: ready`")
        want = (f"init: domains={value}: item {item} is an empty module name; no domain "
                f"started")
        hits = v.find(r"init: domains=.*")
        if len(hits) != 1 or not hits[0].text.strip().endswith(want):
            raise Failure(f"want one line `{want}`, got {[h.text.strip() for h in hits]}",
                          v.tail())
        progress(f"cmdline domains={value}: {hits[0].text.strip()}")
        created = v.find(DOMAIN_CREATED)
        if created:
            raise Failure(f"a domain started anyway: `{created[0].text.strip()}`", v.tail())


def run():
    for case, payload, byte in CONTROL_CASES:
        test(f"cmdline/bios-{case}", check_bios_refused, case, payload, byte)
        test(f"cmdline/uefi-{case}", check_uefi_refused, case, payload, byte)
    for value, item in ((",", 1), ("xa,,xb", 2), ("", 1)):
        test(f"cmdline/domains={value}", check_empty_domain, value, item)
