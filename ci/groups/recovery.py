"""recovery: bdclient's verified workload through the generated BlockDevice shadow
while the console crashes its driver again and again (test kernel, `call`): no
client error, no lost block, one restart per crash; once for membdev (bdev_shadow)
and once, the same checks unchanged, for the NVMe driver (nvme_shadow).
"""
import re
import time

from harness.qemu import TEST_KERNEL, Config, domain_images

from .common import (INJECTED, Failure, checks_on_one_boot, expect_reply, expect_state, idl_method,
                     idl_module, progress)

RECOVERY_FAULTS = [(f, INJECTED[f]) for f in ("pf", "gp", "ud", "de", "pk")] + [
    ("kill", r"killed from the control console")]
RECOVERY_ROUNDS = 3
RECOVERY_WAIT = 60  # one crash and restart, or the final read-back; only stops a hang
# (group, shadow, driver, the driver's line once an instance has served)
SETUPS = [("recovery", "bdev_shadow", "membdev", r"\[membdev\] membdev: serving"),
          ("recovery-nvme", "nvme_shadow", "nvme", r"\[nvme\] nvme: serving")]


def bdc_call(v, method, *args):
    """bdclient's method (its name in domains/idl/bdclient.idl) through the console's `call`:
    its result."""
    number = idl_method("bdclient", "BdClient", method)
    cmd = " ".join(["call bdclient", str(number)] + [str(a) for a in args])
    r = v.command(cmd, timeout=30)
    m = re.search(r"returned (-?\d+)", " ".join(r.lines)) if r.ok else None
    if not m:
        raise Failure(f"`{cmd}` answered {r.status} {r.lines}", v.tail())
    return int(m.group(1))


def bdc_stat(v, counter):
    """bdclient's counter by its name in enum BdcStat (domains/idl/bdclient.idl), whose
    number comes from the generated module like the methods'."""
    return bdc_call(v, "stat", getattr(idl_module("bdclient"), counter))


def bdc_wait(v, counter, done, what):
    deadline = time.monotonic() + RECOVERY_WAIT
    while not done(bdc_stat(v, counter)):
        if time.monotonic() > deadline:
            raise Failure(f"bdclient: {what} after {RECOVERY_WAIT} s", v.tail())
        time.sleep(0.2)


def rec_start(v, state):
    for name in (state["shadow"], state["driver"], "bdclient"):
        expect_state(v, name, "running")
    r = bdc_call(v, "start", 100000000, 50)  # more requests than it will get to do
    if r != 0:
        raise Failure(f"bdclient.start returned {r}", v.tail())
    v.wait_for(state["serving"], RECOVERY_WAIT, what=f"{state['driver']} serving")
    bdc_wait(v, "BDC_OPS", lambda n: n > 0, "no request done")
    state["started"] = True


def rec_crashes(v, state):
    """Crash the current driver with each fault in turn, each time waiting for
    the shadow's new one to serve (a crash while it starts is another matter)."""
    if not state.get("started"):
        raise Failure("the workload did not start")
    driver = state["driver"]
    for i in range(RECOVERY_ROUNDS * len(RECOVERY_FAULTS)):
        fault, reason = RECOVERY_FAULTS[i % len(RECOVERY_FAULTS)]
        mark = v.mark()
        expect_reply(v, f"kill {driver}" if fault == "kill" else f"inject {driver} {fault}", True)
        v.wait_for(rf"domain: {driver} \(id \d+\) failed: " + reason, RECOVERY_WAIT,
                   since=mark, what=f"{driver} failing with {fault}")
        v.wait_for(rf"shadow BlockDevice: restarted {driver}", RECOVERY_WAIT, since=mark,
                   what=f"the shadow's restart after {fault}")
        v.wait_for(state["serving"], RECOVERY_WAIT, since=mark,
                   what=f"a new {driver} serving after {fault}")
        if bdc_stat(v, "BDC_RUNNING") != 1:
            raise Failure(f"the workload ended by crash {i} ({fault})", v.tail())
        state["crashes"] = i + 1


def rec_no_loss(v, state):
    if not state.get("crashes"):
        raise Failure("no crash was made")
    bdc_call(v, "stop")
    bdc_wait(v, "BDC_RUNNING", lambda r: r == 0, "the verifying read-back did not end")
    got = {name: bdc_stat(v, counter) for name, counter in (
        ("errors", "BDC_ERRORS"), ("lost", "BDC_LOST"), ("verified", "BDC_VERIFIED"),
        ("unverified", "BDC_UNVERIFIED"), ("ops", "BDC_OPS"), ("last error", "BDC_LAST_ERROR"))}
    restarts = len([s for s in v.text() if f"restarted {state['driver']}" in s])
    progress(f"recovery: {got['ops']} requests, {got['verified']} reads verified, "
             f"{state['crashes']} crashes, {restarts} restarts")
    if got["errors"] or got["lost"] or got["unverified"]:
        raise Failure("the client saw " + ", ".join(f"{k} {n}" for k, n in got.items()), v.tail())
    if got["verified"] < 1024:
        raise Failure(f"only {got['verified']} reads verified", v.tail())
    if restarts != state["crashes"]:
        raise Failure(f"{state['crashes']} crashes but {restarts} restarts", v.tail())


RECOVERY_TESTS = [("start", rec_start), ("crashes", rec_crashes), ("no-errors-no-loss", rec_no_loss)]


def run():
    # The test kernel: the workload is driven with `call`. bdclient's device 0
    # is whichever of bdev_shadow and nvme_shadow runs (domains/idl/bdclient.idl).
    for group, shadow, driver, serving in SETUPS:
        cfg = Config(firmware="bios", smp=2, cmdline=f"domains={shadow},bdclient",
                     kernel=TEST_KERNEL, modules=domain_images(include_bad=False))
        checks_on_one_boot(group, cfg, RECOVERY_TESTS,
                           {"shadow": shadow, "driver": driver, "serving": serving})
