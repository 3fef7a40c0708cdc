"""nvme: the NVMe driver's ktests (`test=nvme`, the test kernel, 2 CPUs) on both
firmware paths with QEMU's emulated nvme disk: the kernel enumerates nvme0, the
driver brings the controller up (its Identify line, exactly), serves the verified
workload, logs and ignores completions of a command id not in flight, refuses a
controller in fatal status or never ready (exact lines),
fails bad requests and device errors alone, recovers from 60 crashes through nvme_shadow,
and keeps in-flight DMA out of reused frames; nvme_shadow's end-to-end checks find a driver
that acknowledges a write it did not store (the read-back) and one that returns a wrong read
(the checksums alone), each named by its block, restart it and redo the batch (exact lines, one
restart per wrong answer); all nine pass and none is missing.
"""
import re

from harness import results
from harness.qemu import TEST_KERNEL, Config, domain_images

from .common import KTEST_IDLE, KTEST_TIMEOUT, Failure, check_ktest_run, test, vm

TESTS = ["nvme_driver_serves_a_verified_workload", "nvme_bad_requests_fail_alone",
         "nvme_device_errors_fail_their_request_alone",
         "nvme_refuses_a_fatal_or_never_ready_controller", "nvme_unknown_command_ids_are_ignored",
         "nvme_recovery_shadow_hides_driver_crashes_without_losing_data",
         "nvme_quiesce_keeps_inflight_dma_out_of_reused_frames",
         "nvme_shadow_redoes_a_write_acknowledged_but_not_stored",
         "nvme_shadow_redoes_a_read_that_returned_wrong_data"]
# The harness's disk: 64 MiB of 512-byte blocks (ci/harness/qemu.py, NVME_DISK_SIZE).
ENUMERATED = r"pci: \S+ 1b36:0010 class 01:08:02 .* nvme0: bar0 mem64"
IDENTIFIED = (r'\[nvme\] nvme: nvme0: "QEMU NVMe Ctrl", namespace 1: 131072 blocks of 512 '
              r"bytes, max transfer 128 KiB, volatile write cache")

# nvme_refuses_a_fatal_or_never_ready_controller's two refusals, one line each.
REFUSED_CFS = (r"\[nvme_cfs\] nvme: nvme0: controller fatal status \(CSTS 0x3\); "
               r"left alone")
REFUSED_NOT_READY = (r"\[nvme_notready\] nvme: nvme0: not ready after 500 ms \(CAP.TO\), "
                     r"CSTS 0; left alone")

# nvme_unknown_command_ids_are_ignored: the first completion of the stray id.
STRAY = (r"\[nvme_stray\] nvme: queue 1: completion for unknown command id 0xfffe ignored "
         r"\(1 so far\)")

# nvme_device_errors_fail_their_request_alone: the refused request, named by its status.
DEVICE_ERROR = r"\[nvme_badns\] nvme: request 1: block 100 failed: status type 0 code 0xb"

# The two wrong drivers behind their checked shadows (kernel/ktest/nvme.c): what the driver
# logs it did wrong, with the block, and the shadow's verdict on that block. Each instance
# answers one request wrongly (its 300th write or read): in bdclient's sweep of 1024 blocks,
# 32 a batch, blocks 299, 587 and 875, each in a batch redone by the next instance.
WRONG_BLOCKS = [299, 587, 875]
WRONG_DRIVERS = [
    ("nvme_forgetful", "nvme_shadow_forgetful",
     r"nvme: acknowledging the write of block {b} without storing it",
     r"bdev_check: block {b} reads back wrong after the driver acknowledged writing it "
     r"\(status 0, checksum 0x[0-9a-f]+, written 0x[0-9a-f]+\)"),
    ("nvme_wrongread", "nvme_shadow_wrongread",
     r"nvme: returning block {b} with its first byte inverted",
     r"bdev_check: block {b} reads wrong \(checksum 0x[0-9a-f]+, its last stored write "
     r"0x[0-9a-f]+\)"),
]
# nvme_shadow_wrongread's policy, said once as it starts.
NO_READ_BACK = (r"\[nvme_shadow_wrongread\] bdev_check: acknowledged writes are not read back "
                r"\(this shadow's policy\); reads are checked")


def check_wrong_driver(v, text, driver, shadow, did, found):
    """Each wrong answer of driver, in order, is followed by the check's line naming its
    block, the shadow's `answered submit wrongly` line and its restart N."""
    lines = text.split("\n")
    did_at = [i for i, s in enumerate(lines) if re.search(rf"\[{driver}\] " +
                                                            did.format(b=r"\d+"), s)]
    blocks = [int(re.search(r"block (\d+)", lines[i])[1]) for i in did_at]
    if blocks != WRONG_BLOCKS:
        raise Failure(f"{driver} answered wrongly for blocks {blocks}, want {WRONG_BLOCKS}",
                      v.tail())
    for n, (i, b) in enumerate(zip(did_at, blocks), 1):
        want = [rf"\[{shadow}\] " + found.format(b=b),
                rf"\[{shadow}\] shadow BlockDevice: {driver} \(handle 0x[0-9a-f]+\) "
                r"answered submit wrongly; restarting it",
                rf"\[{shadow}\] shadow BlockDevice: restarted {driver} \(restart {n}\), "
                r"replayed 1 calls"]
        at = i
        for pattern in want:
            at = next((j for j in range(at + 1, len(lines)) if re.search(pattern, lines[j])),
                      None)
            if at is None:
                raise Failure(f"after {driver}'s wrong answer for block {b}, no line "
                              f"matching {pattern!r}", v.tail())
    restarts = len([s for s in lines if f"shadow BlockDevice: restarted {driver} " in s])
    if restarts != len(WRONG_BLOCKS):
        raise Failure(f"{restarts} restarts of {driver}, want {len(WRONG_BLOCKS)}", v.tail())


def run_nvme(fw):
    name = f"nvme/{fw}"
    cfg = Config(firmware=fw, smp=2, cmdline="test=nvme", kernel=TEST_KERNEL,
                 modules=domain_images())
    with vm(name, cfg) as v:
        v.wait_for(results.KTEST_SUMMARY.pattern, KTEST_TIMEOUT, what="`ktest: summary`",
                   idle=KTEST_IDLE)
        run = check_ktest_run(name, v)
        ran = sorted(n for n, _, _ in run.tests)
        if ran != sorted(TESTS):
            raise Failure(f"test=nvme ran {ran}, want {sorted(TESTS)}", v.tail())
        text = "\n".join(v.text())
        for what, pattern in (("enumeration", ENUMERATED), ("Identify", IDENTIFIED),
                              ("fatal status", REFUSED_CFS), ("never ready", REFUSED_NOT_READY),
                              ("unknown command id", STRAY), ("device error", DEVICE_ERROR)):
            if not re.search(pattern, text):
                raise Failure(f"no {what} line matching {pattern!r}", v.tail())
        if not re.search(NO_READ_BACK, text):
            raise Failure(f"no policy line matching {NO_READ_BACK!r}", v.tail())
        for driver, shadow, did, found in WRONG_DRIVERS:
            check_wrong_driver(v, text, driver, shadow, did, found)


def run():
    for fw in ("bios", "uefi"):
        test(f"nvme/{fw}", run_nvme, fw, report_pass=False)
