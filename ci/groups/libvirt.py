"""libvirt: ci/libvirt-test validates the domain XML and boots under libvirt;
its PASS/FAIL/SKIP lines are relayed as this group's.
"""
import os
import subprocess

from harness import results
from harness.qemu import ROOT

from .common import progress, tally


def run():
    argv = [os.path.join(ROOT, "ci/libvirt-test")]
    progress("libvirt: ci/libvirt-test")
    try:
        p = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, text=True, errors="replace")
    except OSError as e:
        tally.fail("libvirt", f"ci/libvirt-test: {e.strerror}")
        return
    failed = tally.failed
    for line in p.stdout:
        line = line.rstrip("\n")
        if not tally.relay(line) and not results.SUMMARY.match(line):
            tally.say(line)
    rc = p.wait()
    if rc != 0 and tally.failed == failed:
        tally.fail("libvirt", f"ci/libvirt-test exited with status {rc}")
