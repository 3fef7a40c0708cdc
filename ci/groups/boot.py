"""boot: the production kernel on UEFI and BIOS, -smp 2, reaches `maple: ready`
with 2 CPUs online (and on UEFI the loader said it started).
"""
from harness.qemu import Config

from .common import Failure, boot_ready, progress, test, vm


def check_boot(fw):
    with vm(f"boot/{fw}-smp2", Config(firmware=fw, smp=2)) as v:
        hit = boot_ready(v, fw)
        progress(f"boot {fw}: ready {hit.time:.2f} s after QEMU started")
        if fw == "uefi" and not v.find(r"efi-loader: start"):
            raise Failure("no `efi-loader: start` line before ready", v.tail())
        for m in v.find(r"cpu: PKU.*|smp: \d+ CPUs online"):
            progress(f"boot {fw}: {m.match.group(0)}")
        if not v.find(r"smp: 2 CPUs online"):
            seen = v.find(r"smp: .*")
            raise Failure("no `smp: 2 CPUs online` line"
                          + (f" (saw `{seen[0].match.group(0)}`)" if seen else ""), v.tail())


def run():
    for fw in ("uefi", "bios"):
        test(f"boot/{fw}-smp2", check_boot, fw)
