"""ctl: the control console on COM2 (production kernel, UEFI): the basic
commands answer, an over-long line and binary garbage are refused without
killing it, and `shutdown` powers off.
"""
from harness.ctl import CtlError
from harness.qemu import Config, VmError

from .common import Failure, boot_ready, ctl_ok, progress, tally, vm


def ctl_err_then_alive(v, data, what):
    r = v.ctl().command(data)
    if r.ok:
        raise Failure(f"{what} answered OK, expected ERR")
    progress(f"ctl {what}: {r.status}")
    r = v.command("uptime")
    if not r.ok:
        raise Failure(f"after {what}, `uptime` answered {r.status}")


def ctl_shutdown(v):
    r = v.command("shutdown")
    if not r.ok:
        raise Failure(f"`shutdown` answered {r.status}")
    rc = v.wait_exit(30)
    if v.shutdown_reason not in (None, "guest-shutdown"):
        raise Failure(f"QEMU stopped by {v.shutdown_reason} (exit status {rc}), "
                      "not an ACPI power-off")


CTL_TESTS = [
    ("help", ctl_ok, "help"),
    ("mem", ctl_ok, "mem"),
    ("threads", ctl_ok, "threads"),
    ("uptime", ctl_ok, "uptime"),
    ("over-long-line", ctl_err_then_alive, b"x" * 4096 + b"\n", "a 4096-byte line"),
    ("binary-garbage", ctl_err_then_alive, b"\x00\xff\x1b[2J\x80\x07garbage\n", "binary garbage"),
    ("shutdown", ctl_shutdown),
]


def run():
    done = 0
    try:
        with vm("ctl/uefi", Config(firmware="uefi", smp=2)) as v:
            boot_ready(v, "uefi")
            for name, fn, *args in CTL_TESTS:
                done += 1
                try:
                    fn(v, *args)
                except CtlError as e:
                    # The console is gone or deaf: the remaining tests cannot run.
                    tally.fail(f"ctl/{name}", e, v.tail())
                    for rest, *_ in CTL_TESTS[done:]:
                        tally.fail(f"ctl/{rest}", f"not run: console broken by ctl/{name}")
                    return
                except (Failure, VmError) as e:
                    tally.fail(f"ctl/{name}", e, e.tail)
                else:
                    tally.ok(f"ctl/{name}")
    except VmError as e:
        for name, *_ in CTL_TESTS[done:]:
            tally.fail(f"ctl/{name}", f"not run: {e}")
        tally.say(e.tail)
