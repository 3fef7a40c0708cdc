"""format: every tracked C file is formatted with the committed .clang-format
(the first group, so a formatting slip is reported before anything slow).
"""
import os
import subprocess

from harness.qemu import ROOT

from .common import Failure, test


def check_format():
    files = subprocess.run(["git", "-C", ROOT, "ls-files", "*.c", "*.h"], capture_output=True,
                           text=True, check=True).stdout.split()
    bad = [f for f in files if subprocess.run(
        ["clang-format", "--dry-run", "-Werror", os.path.join(ROOT, f)],
        capture_output=True).returncode != 0]
    if bad:
        raise Failure(f"{len(bad)} file(s) differ from .clang-format (run clang-format -i): "
                      + " ".join(bad[:10]) + (" ..." if len(bad) > 10 else ""))


def run():
    test("format/clang-format", check_format)
