"""The process tools/idlfuzz/fuzz.py feeds inputs to: it runs one idlc's real
command (main(), argument parsing to output files) on each input, in this
one process so that an input costs milliseconds rather than an interpreter
start.

    python3 worker.py IDLC WORKDIR

Requests on stdin: a 4-byte big-endian length, then the input's bytes.
Replies on stdout: one JSON line per input, {"status": N, "stderr": TEXT}.
It imports nothing of its own tree's `idl` package, so IDLC may be any
checkout's tools/idlc (its own directory supplies the `idl` it imports).
"""
import contextlib
import importlib.machinery
import importlib.util
import io
import json
import os
import sys


def load_idlc(path):
    loader = importlib.machinery.SourceFileLoader("idlc_under_test", path)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def run_one(idlc, src, outdir):
    """idlc's exit status and stderr for the file src, as `idlc -o outdir src`."""
    err = io.StringIO()
    sys.argv = ["idlc", "-o", outdir, src]
    with contextlib.redirect_stderr(err):
        try:
            status = idlc.main()
        except SystemExit as e:
            status = e.code if isinstance(e.code, int) else 1
            if not isinstance(e.code, int) and e.code is not None:
                err.write(f"{e.code}\n")
        except BaseException:  # noqa: BLE001 - what the idlc under test let escape
            import traceback
            traceback.print_exc(file=err)
            status = "traceback"
    return status, err.getvalue()


def main():
    idlc = load_idlc(sys.argv[1])
    workdir = sys.argv[2]
    src = os.path.join(workdir, "fuzz.idl")
    outdir = os.path.join(workdir, "out")
    stdin, stdout = sys.stdin.buffer, sys.stdout
    while True:
        head = stdin.read(4)
        if len(head) < 4:
            return 0
        data = stdin.read(int.from_bytes(head, "big"))
        with open(src, "wb") as f:
            f.write(data)
        status, text = run_one(idlc, src, outdir)
        stdout.write(json.dumps({"status": status, "stderr": text}) + "\n")
        stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
