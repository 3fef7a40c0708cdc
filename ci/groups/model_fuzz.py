"""model_fuzz: the 82599 model (tools/qemu-82599) under a hostile guest, with no
guest: tools/qemu-82599/fuzz.py drives it over QEMU's qtest protocol. Its
deterministic cases (ring lengths 0, unaligned and huge, head and tail beyond the
ring, buffers anywhere, lengths 0 and 64 KiB, no EOP, SRRCTL 0, the last queue and
vector, the MSI-X table, every BAR0 offset at every size, checksum insertion on
lying IPv4 headers, 128 full rings, machine reset with frames in flight, an
MSI-X message into the device's own TDT raised by a QMP link change, queue 1's
frame leaving while queue 0 is kept full) each
assert their exact outcome; then the seeded fuzzer (seed 1, 20 s) must leave QEMU
answering after every batch and must have sent and received frames. About 45 s.
"""
import os
import re
import subprocess

from harness.qemu import ROOT, TIMEOUT_SCALE, VmError, qemu82599

from .common import Failure, progress, tally, test

FUZZ = "tools/qemu-82599/fuzz.py"
CASES = ["ring_len_zero", "ring_len_huge", "ring_len_unaligned", "head_tail_beyond",
         "buffer_anywhere", "lengths", "no_eop_ever", "srrctl_zero", "rx_ring_in_bar0",
         "msix_into_own_registers", "queue_indices", "msix_table", "checksum_headers",
         "system_reset_mid_ring", "every_offset", "every_ring_full",
         "frames_whole_across_budget", "tx_round_robin"]
SEED, SECONDS = 1, 20
FUZZ_DONE = re.compile(rf"^fuzz: seed {SEED}: (\d+) batches, (\d+) operations in \d+ s "
                       r"\((\d+) frames sent, (\d+) received\); QEMU answered after every batch$")


def run_fuzz(argv, limit):
    """fuzz.py's (exit status, stdout lines); Failure if it runs past limit seconds."""
    try:
        p = subprocess.run([f"{ROOT}/{FUZZ}", "--qemu", qemu82599()] + argv, cwd=ROOT,
                           capture_output=True, text=True, timeout=limit * TIMEOUT_SCALE)
    except subprocess.TimeoutExpired:
        raise Failure(f"{FUZZ} {' '.join(argv)}: still running after "
                      f"{limit * TIMEOUT_SCALE:.0f} s") from None
    if p.stderr.strip():
        raise Failure(f"{FUZZ} wrote to stderr: {p.stderr.strip()[-500:]}")
    return p.returncode, p.stdout.splitlines()


def check_cases():
    rc, lines = run_fuzz(["--cases"], 240)
    want = [rf"^case {name}: ok \(\d+\.\d s\)$" for name in CASES] + \
        [rf"^cases: {len(CASES)} passed, 0 failed$"]
    got = [ln for ln in lines if ln.startswith("case")]
    if rc != 0 or len(got) != len(want) or \
            not all(re.match(w, g) for w, g in zip(want, got)):
        raise Failure(f"exit {rc}; want each case ok in order:", "\n".join(lines[-20:]))
    progress(f"{len(CASES)} hostile cases held (e.g. `{got[-2]}`)")


def check_fuzz():
    rc, lines = run_fuzz(["--seed", str(SEED), "--seconds", str(SECONDS)], SECONDS + 60)
    m = FUZZ_DONE.match(lines[-1]) if lines else None
    if rc != 0 or not m:
        raise Failure(f"exit {rc}; want a last line matching `{FUZZ_DONE.pattern}`",
                      "\n".join(lines[-20:]))
    batches, ops, sent, received = (int(x) for x in m.groups())
    if sent == 0 or received == 0:
        raise Failure(f"the fuzzer sent {sent} and received {received} frames: it no longer "
                      "reaches the model's data path", lines[-1])
    progress(f"seed {SEED}: {batches} batches, {ops} operations, {sent} frames sent, "
             f"{received} received; QEMU answered every batch")


def run():
    names = ("model_fuzz/cases", "model_fuzz/fuzz")
    try:
        qemu = qemu82599()
    except VmError as e:
        for name in names:
            tally.fail(name, e)
        return
    if not os.path.exists(qemu):
        for name in names:
            tally.skip(name, f"{qemu}: not found (QEMU with the 82599 model is built by "
                       "ci/setup, ci/qemu82599)")
        return
    test(names[0], check_cases)
    test(names[1], check_fuzz)
