"""panic: `panic-test` (test kernel) leaves a symbolized backtrace on COM1 that
names the command, no console status line, and a halted (not exited) QEMU.
"""
from harness import results
from harness.ctl import is_final
from harness.qemu import TEST_KERNEL, Config, VmTimeout

from .common import Failure, boot_ready, progress, test, vm


def check_panic():
    with vm("panic/bios", Config(firmware="bios", smp=2, kernel=TEST_KERNEL)) as v:
        boot_ready(v, "bios")
        mark = v.mark()
        v.ctl().send_raw(b"panic-test\n")
        bt = v.wait_for(r"backtrace:", 30, since=mark, what="`backtrace:`")
        v.wait_for(r"#\d+\s+0x", 10, since=bt.index, what="a backtrace frame")
        # The frames end at the first line that is not one; a slow (busy, TCG)
        # machine may pause between lines, so wait for that line, not for quiet.
        try:
            v.wait_for(r"^(?!.*#\d+\s+0x)", 15, since=bt.index + 1, what="the backtrace's end")
        except VmTimeout:
            v.wait_quiet(1.0)  # a report that ends with its last frame
        frames = results.parse_backtrace(v.text(mark))
        if not frames:
            raise Failure("`backtrace:` is followed by no frames", v.tail())
        for n, addr, sym in frames:
            progress(f"panic frame #{n} {addr} {sym or '?'}")
        # The outermost frame may lie outside any symbol (the boot stub's caller).
        unnamed = [f for f in frames[:-1] if not results.symbolized(f)]
        if unnamed or not results.symbolized(frames[0]):
            raise Failure(f"unsymbolized frames: {unnamed or frames[:1]}", v.tail())
        if not any("panic_test" in (sym or "") for _, _, sym in frames):
            raise Failure("no frame names the panic-test command", v.tail())
        # Data lines may have come before the exception; a status line may not.
        extra = v.ctl().pending(1.0).decode("utf-8", "replace").splitlines()
        status = [s for s in extra if is_final(s.rstrip("\r"))]
        if status:
            raise Failure(f"the guest answered `{status[0]}` to panic-test", v.tail())
        if not v.alive:
            raise Failure(f"QEMU stopped ({v.exit_description()}) instead of the kernel halting",
                          v.tail())


def run():
    test("panic/panic-test", check_panic)
