"""nvme: the NVMe driver's ktests (`test=nvme`, the test kernel, 2 CPUs) on both
firmware paths with QEMU's emulated nvme disk: the kernel enumerates nvme0, the
driver brings the controller up (its Identify line, exactly), serves the verified
workload, fails bad requests alone, recovers from 60 crashes through nvme_shadow,
and keeps in-flight DMA out of reused frames; all four pass and none is missing.
"""
import re

from harness import results
from harness.qemu import TEST_KERNEL, Config, domain_images

from .common import KTEST_IDLE, KTEST_TIMEOUT, Failure, check_ktest_run, test, vm

TESTS = ["nvme_driver_serves_a_verified_workload", "nvme_bad_requests_fail_alone",
         "nvme_recovery_shadow_hides_driver_crashes_without_losing_data",
         "nvme_quiesce_keeps_inflight_dma_out_of_reused_frames"]
# The harness's disk: 64 MiB of 512-byte blocks (ci/harness/qemu.py, NVME_DISK_SIZE).
ENUMERATED = r"pci: \S+ 1b36:0010 class 01:08:02 .* nvme0: bar0 mem64"
IDENTIFIED = (r'\[nvme\] nvme: nvme0: "QEMU NVMe Ctrl", namespace 1: 131072 blocks of 512 '
              r"bytes, max transfer 128 KiB, volatile write cache")


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
        for what, pattern in (("enumeration", ENUMERATED), ("Identify", IDENTIFIED)):
            if not re.search(pattern, text):
                raise Failure(f"no {what} line matching {pattern!r}", v.tail())


def run():
    for fw in ("bios", "uefi"):
        test(f"nvme/{fw}", run_nvme, fw, report_pass=False)
