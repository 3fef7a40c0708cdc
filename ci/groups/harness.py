"""harness: the QEMU harness (ci/harness) against a fake guest and bare OVMF;
ci/harness/selftest.py holds the checks, this group runs them.
"""
from harness import selftest

from .common import tally


def run():
    selftest.run(tally)
