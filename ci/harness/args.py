"""Command-line parsing every host tool shares (ci/, bench/, images/, tools/).

One parser class and one type per kind of value, so that a bad option gets
the same kind of answer from every tool: a usage error, which is the usage
line, then `PROG: error: WHAT` on stderr, and exit status 2. It comes before
the tool does anything: no setup, no build, no boot, no file written.

What counts as bad: a flag the tool does not know (named as such; no
abbreviations, so `--mem` never silently means `--memory`), a count or a
timeout of zero or less, an empty list or name, a list entry that is not
one of its choices, a memory size QEMU would misread. Limits that depend on
the tool (the least memory Maple boots in) are checked by the tool with
Parser.error, in the same words.
"""
import argparse
import math
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# QEMU's -m: a whole number with an optional binary suffix; no suffix means MiB.
MEMORY = re.compile(r"^(\d+)([KMGT]?)$", re.IGNORECASE)
MIB_PER = {"k": 1 / 1024, "": 1, "m": 1, "g": 1024, "t": 1024 * 1024}


class Parser(argparse.ArgumentParser):
    """argparse with exit status 2 for every misuse and unknown flags named."""

    def __init__(self, prog, doc, **kw):
        kw.setdefault("description", doc.split("\n")[0])
        super().__init__(prog=prog, allow_abbrev=False, **kw)

    def error(self, message):
        # argparse lumps unknown flags and stray words into one
        # "unrecognized arguments" message; name each for what it is.
        if message.startswith("unrecognized arguments: "):
            words = message[len("unrecognized arguments: "):].split(" ")
            flags = [w for w in words if w.startswith("-")]
            message = (f"unknown option {flags[0]}" if flags
                       else f"unexpected argument {words[0]!r}")
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def count(text):
    """A whole number of at least 1 (boots, runs, CPUs)."""
    if not re.fullmatch(r"[+-]?\d+", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text} is less than 1")
    return n


def seconds(text):
    """A timeout: a finite number of seconds above 0."""
    try:
        s = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(s) or s <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not above 0 seconds")
    return s


def nonempty(text):
    """A name, path or revision: anything but the empty string."""
    if not text:
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def choices(*allowed):
    """A comma-separated list of one or more of `allowed`, each once."""
    def parse(text):
        items = text.split(",")
        if not text or "" in items:
            raise argparse.ArgumentTypeError(f"{text!r} has an empty entry; give one or more "
                                             f"of {', '.join(allowed)}, separated by commas")
        for item in items:
            if item not in allowed:
                raise argparse.ArgumentTypeError(f"unknown entry {item!r}; choose from "
                                                 f"{', '.join(allowed)}")
        twice = sorted({i for i in items if items.count(i) > 1})
        if twice:
            raise argparse.ArgumentTypeError(f"{', '.join(twice)} given twice")
        return items
    return parse


class Memory(str):
    """A memory size as QEMU's -m takes it; .mib is its size in MiB."""
    mib = 0.0


def memory(text):
    """QEMU's -m syntax, checked here so that QEMU never sees a size it misreads."""
    m = MEMORY.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (a whole number with an "
                                         "optional K, M, G or T; no suffix means MiB)")
    size = Memory(text)
    size.mib = int(m.group(1)) * MIB_PER[m.group(2).lower()]
    return size


def env_scale(name, environ=os.environ):
    """A multiplier from the environment (MAPLE_TIMEOUT_SCALE): a finite number
    above 0, or 1 when unset or empty. Anything else is a usage error, raised
    before any timeout is computed from it."""
    text = environ.get(name, "")
    if not text:
        return 1.0
    try:
        scale = float(text)
    except ValueError:
        scale = -1.0
    if not math.isfinite(scale) or scale <= 0:
        prog = os.path.relpath(os.path.abspath(sys.argv[0]), ROOT)
        sys.stderr.write(f"{prog}: error: {name}={text!r}: must be a number above 0 "
                         "(it multiplies every timeout)\n")
        sys.exit(2)
    return scale
