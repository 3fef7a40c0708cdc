"""What the WRPKRUs of a hosted bench row would cost on a CPU with PKU, for
`bench/xcall --hosted --native-no-keys` (docs/bench-xcall.md, "Native, without
keys"): how many each row executes, counted from the gate's code, and the
published per-WRPKRU costs to multiply them by. Every figure made here is an
estimate, never a measurement: the machine that runs that mode has no PKU.
"""
from dataclasses import dataclass

# WRPKRUs per operation, (the gate's, the hosted runtime's under keys), counted
# from the code. The gate (kernel/domain/arch/x86/gate.S) executes four per
# call that returns: RAISE_TO_GATE at gate_entry_raise, the lowering to the
# callee's rights before gate_xcall_checked, RAISE_TO_GATE after `call *%rbx`
# and LOWER_TO_EXPECTED before gate_resume. A callee that faults runs the first
# two only: the caller resumes at gate_resume through the runtime's unwinding,
# its rights restored by rt_sigreturn from the signal frame (an XRSTOR in
# Linux, not a WRPKRU). The runtime's are the keyed signal entries
# (hosted/sigentry.S: one a SIGSYS or fault signal) and hosted_enter's
# (hosted/enter.S: one an upcall): hosted's, not the VM's, and not executed at
# all without keys (the plain entries run and hosted_enter skips its WRPKRU).
WRPKRUS = {
    "getppid": (0, 0),
    "upcall-null": (0, 2),          # hosted_enter; SYS_RETURN's SIGSYS entry
    "direct-call": (0, 0),
    "null-syscall": (0, 1),         # the SIGSYS entry
    "xcall-null": (4, 0),
    "xcall-4-args": (4, 0),
    "xcall-nested-a-b-c-a": (16, 0),  # four calls, bench->xa->xb->xc->xa, all returning
    "xcall-move-rref": (4, 0),
    "xcall-move-deque-32": (4, 0),
    "rref-alloc-free": (0, 2),      # two system calls
    "proxy-call-membdev": (4, 0),
    "proxy-call-via-shadow": (8, 0),  # bench->bdev_shadow->membdev
    "fault-to-caller-error": (2, 1),  # raise, lower to rogue; the SIGILL entry
    "submit-32-reads-membdev": (4, 0),
    "submit-32-reads-via-shadow": (8, 0),  # bench->bdev_shadow->membdev
    "submit-32-writes-membdev": (4, 0),
    # bench->bdev_shadow->membdev, then the shadow's read-back of the writes
    "submit-32-writes-via-shadow": (12, 0),
}


@dataclass
class Cost:
    """One published per-WRPKRU cost in cycles, and where it comes from."""
    label: str
    cycles: int
    source: str


ERIM = ("ERIM (Vahldiek-Oberwagner et al., \"ERIM: Secure, Efficient In-process Isolation with "
        "Protection Keys (MPK)\", USENIX Security 2019), its background on MPK: a WRPKRU takes "
        "11 to 260 cycles. The quote names no CPU; the ERIM repository's README names the "
        "paper's evaluation CPUs, Intel Xeon Scalable Silver and Gold 6142 (Skylake-SP). Read "
        "here in a stored reading note of the paper that quotes the range; the paper's PDF "
        "(people.mpi-sws.org/~druschel/publications/erim.pdf) is not among the stored copies")
COSTS = [
    Cost("ERIM, lowest", 11, ERIM),
    Cost("issue 12", 28, "issue 12's own figure: about 28 cycles per WRPKRU, on AMD EPYC"),
    Cost("ERIM, highest", 260, ERIM),
]
# Looked for and not found, so not used: said beside the costs that are.
NOT_FOUND = ("Hodor (Hedayati et al., USENIX ATC 2019): only the opening of the paper is among "
             "the stored copies, not a per-WRPKRU figure; none is used")
LOWEST = min(COSTS, key=lambda c: c.cycles)


def count(op):
    """(the gate's, the runtime's) WRPKRUs of op, or None for a row not counted."""
    return WRPKRUS.get(op)


def estimate(rest, op, cost):
    """rest (the row's cycles without WRPKRU) plus op's WRPKRUs at cost: an estimate."""
    gate, runtime = WRPKRUS[op]
    return rest + (gate + runtime) * cost.cycles


def impossible_at_lowest(op, target):
    """Whether op's WRPKRUs alone, at the lowest published cost, exceed target: the
    issue's trigger to redesign the gate for fewer switches."""
    gate, runtime = WRPKRUS[op]
    return (gate + runtime) * LOWEST.cycles > target
