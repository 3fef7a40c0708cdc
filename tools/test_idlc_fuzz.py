#!/usr/bin/env python3
"""The IDL compiler under the fuzzer (tools/idlfuzz/fuzz.py; docs/idl.md "Fuzzing").

- Corpus: every input in tools/testdata/idl/crashes/ once crashed idlc (the
  name says how); each must now get exactly the message in its .err file,
  through the real command, exit status 1.
- SeededRun: a bounded, seeded run over domains/idl/*.idl and every.idl
  (FUZZ_INPUTS inputs, the same ones on every machine); every input must
  get success or only `file:line:col: error:` lines, never a traceback,
  another status or a hang (FUZZ_TIMEOUT per input).
- Harness: the fuzzer itself tells a traceback, a malformed line and a hang
  from a clean answer, so the run above can fail.

Run with `python3 tools/test_idlc_fuzz.py` or through ci/test's unit group;
tools/fuzz-idlc runs longer, by hand.
"""
import os
import subprocess
import sys
import tempfile
import unittest

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)
sys.path.insert(0, TOOLS)
from idlfuzz import fuzz  # noqa: E402

IDLC = os.path.join(TOOLS, "idlc")
CRASHES = "tools/testdata/idl/crashes"
FUZZ_SEED = 9  # issue 9
FUZZ_INPUTS = 1500  # 3 s at the 500 inputs/s of a quiet host, 15 s on a loaded one
FUZZ_TIMEOUT = 10.0  # seconds per input; the real ones take milliseconds


class Corpus(unittest.TestCase):
    def test_every_input_has_its_message(self):
        names = os.listdir(os.path.join(ROOT, CRASHES))
        inputs = {n[:-4] for n in names if n.endswith(".idl")}
        expected = {n[:-4] for n in names if n.endswith(".err")}
        self.assertTrue(inputs)
        self.assertEqual(inputs, expected)


def _corpus_test(stem):
    def test(self):
        path = f"{CRASHES}/{stem}.idl"
        with open(os.path.join(ROOT, CRASHES, stem + ".err"), encoding="utf-8") as f:
            want = f.read()
        with tempfile.TemporaryDirectory() as d:
            r = subprocess.run([sys.executable, IDLC, "-o", d, path], cwd=ROOT,
                               capture_output=True, timeout=60)
            self.assertEqual((r.returncode, r.stderr.decode("utf-8", "replace")), (1, want))
            self.assertEqual(os.listdir(d), [])
    return test


for _name in sorted(os.listdir(os.path.join(ROOT, CRASHES))):
    if _name.endswith(".idl"):
        setattr(Corpus, f"test_{_name[:-4]}", _corpus_test(_name[:-4]))


class SeededRun(unittest.TestCase):
    def test_no_traceback_or_hang(self):
        count, failures = fuzz.fuzz(IDLC, fuzz.seed_files(ROOT), FUZZ_SEED, inputs=FUZZ_INPUTS,
                                    timeout=FUZZ_TIMEOUT)
        self.assertEqual(count, FUZZ_INPUTS)
        first = f"; the first: {failures[0][1]} (input {failures[0][0][:200]!r})" if failures \
            else ""
        self.assertEqual(len(failures), 0, f"{len(failures)} of {count} inputs failed{first}; "
                         f"reproduce with tools/fuzz-idlc --seed {FUZZ_SEED} --inputs "
                         f"{FUZZ_INPUTS}")

    def test_same_seed_same_inputs(self):
        seeds = fuzz.seed_files(ROOT)
        a, b, c = fuzz.Mutator(seeds, 1), fuzz.Mutator(seeds, 1), fuzz.Mutator(seeds, 2)
        first = [a.input() for _ in range(50)]
        self.assertEqual(first, [b.input() for _ in range(50)])
        self.assertNotEqual(first, [c.input() for _ in range(50)])


FAKE_IDLC = '''
import sys
def main():
    data = open(sys.argv[-1], "rb").read()
    if data == b"hang":
        while True:
            pass
    if data == b"raise":
        raise RecursionError("maximum recursion depth exceeded")
    if data == b"bad line":
        sys.stderr.write("error: no location\\n")
        return 1
    if data == b"internal":
        sys.stderr.write("idlc: internal error: x.idl: KeyError: 'shape'\\n")
        return 3
    sys.stderr.write(sys.argv[-1] + ":1:1: error: fine\\n")
    return 1
'''


class Harness(unittest.TestCase):
    def test_verdicts(self):
        with tempfile.TemporaryDirectory() as d:
            fake = os.path.join(d, "idlc")
            with open(fake, "w") as f:
                f.write(FAKE_IDLC)
            work = os.path.join(d, "work")
            os.mkdir(work)
            worker = fuzz.Worker(fake, work)
            src = os.path.join(work, "fuzz.idl")
            try:
                def verdict(data):
                    answer = worker.run(data, 2.0)
                    return "hang" if answer is None else fuzz.verdict(*answer, src)

                self.assertIsNone(verdict(b"ok"))
                self.assertEqual(verdict(b"raise"), "exit status traceback: RecursionError: "
                                 "maximum recursion depth exceeded")
                self.assertEqual(verdict(b"bad line"), "exit 1 with a line not "
                                 "FILE:LINE:COL: error: ...: 'error: no location'")
                self.assertEqual(verdict(b"internal"), "exit status 3: idlc: internal error: "
                                 "x.idl: KeyError: 'shape'")
                self.assertEqual(verdict(b"hang"), "hang")
                self.assertIsNone(verdict(b"ok"))  # a fresh worker after the hang
            finally:
                worker.stop()


if __name__ == "__main__":
    unittest.main()
