#!/usr/bin/env python3
"""Hostile inputs to the IDL compiler (issue 9, docs/idl.md "Limits"): each
case the compiler once answered with a Python traceback, a hang or a broken
header, now answered with its exact `file:line:col: error:` line.

The sizes are the ones that broke it (about 1000 levels of nesting, files of
megabytes); time bounds are hang guards, generous for a loaded machine, not
performance claims. Run with `python3 tools/test_idlc_inputs.py` or through
ci/test's unit group.
"""
import importlib.machinery
import importlib.util
import io
import os
import subprocess
import sys
import tempfile
import time
import unittest
from contextlib import redirect_stderr

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
from idl.check import (MAX_FILE_BYTES, MAX_SHAPE_BYTES, MAX_STRUCT_NESTING,  # noqa: E402
                       check_text)
from idl.model import IdlError, IdlErrors  # noqa: E402
from idl.syntax import MAX_TYPE_NESTING  # noqa: E402

IDLC = os.path.join(TOOLS, "idlc")
NESTING = (f"error: type nested more than {MAX_TYPE_NESTING} levels deep (each <...>, &, *, "
           "[N] and [] is a level)")


def diagnostics(text, path="t.idl", stem="t"):
    try:
        check_text(path, text, stem)
    except IdlErrors as e:
        return [str(x) for x in e.errors]
    except IdlError as e:
        return [str(e)]
    return []


def run_idlc(outdir, path):
    return subprocess.run([sys.executable, IDLC, "-o", outdir, path], capture_output=True,
                          timeout=120)


class Crashes(unittest.TestCase):
    """Each input crashed idlc with the exception named in the test."""

    def test_attribute_error_misspelled_type_in_vec_element(self):
        self.assertEqual(diagnostics("struct S { Foo x; }\nstruct T { RRefVec<S, 4> v; }"),
                         ["t.idl:1:12: error: unknown type 'Foo'"])

    def test_attribute_error_vec_of_itself(self):
        self.assertEqual(diagnostics("struct S { RRefVec<S, 4> v; }"),
                         ["t.idl:1:12: error: RRefVec<S, 4> holds plain data, but S has RRefs "
                          "(S.v); use RRefArray<S, 4>"])

    def test_recursion_error_vec_of_cyclic_struct(self):
        self.assertEqual(diagnostics("struct A { B b; }\nstruct B { A a; }\n"
                                     "struct C { RRefVec<A, 2> v; }"),
                         ["t.idl:1:8: error: struct 'A' contains itself (A.b.a)"])

    def test_value_error_number_of_5000_digits(self):
        self.assertEqual(diagnostics("struct S { u8 a[" + "9" * 5000 + "]; }"),
                         ["t.idl:1:17: error: number 99999999999999999999... is out of range "
                          "(at most 4294967295)"])

    def test_value_error_size_of_12000_digits(self):
        # Found by hand after the fuzzer: str() of the size in the message.
        text = "struct A0 { u8 x" + "[4294967295]" * 63 + "; }\n" + "".join(
            f"struct A{i} {{ A{i - 1} a" + "[4294967295]" * 63 + "; }\n" for i in range(1, 20))
        self.assertEqual(diagnostics(text)[-2:],
                         ["t.idl:19:8: error: struct 'A18' is more than 2**38303 bytes; an RRef "
                          "payload is at most 2097152 bytes",
                          "t.idl:20:8: error: struct 'A19' is more than 2**40319 bytes; an RRef "
                          "payload is at most 2097152 bytes"])
        self.assertEqual(diagnostics("struct S { u8 x[4294967295][4294967295][2]; }"),
                         ["t.idl:1:8: error: struct 'S' is more than 2**64 bytes; an RRef "
                          "payload is at most 2097152 bytes"])
        self.assertEqual(diagnostics("struct S { u8 x[4294967295][4294967295]; }"),
                         ["t.idl:1:8: error: struct 'S' is 18446744065119617025 bytes; an RRef "
                          "payload is at most 2097152 bytes"])

    def test_unicode_decode_error(self):
        with tempfile.TemporaryDirectory() as d:
            bad = os.path.join(d, "bad.idl")
            with open(bad, "wb") as f:
                f.write(b"struct S {\n    u8 \xc3\xa9\xff x;\n}\n")
            r = run_idlc(d, bad)
            self.assertEqual((r.returncode, r.stdout), (1, b""))
            self.assertEqual(r.stderr.decode(),
                             f"{bad}:2:9: error: invalid UTF-8 (byte 0xff); .idl files are "
                             "UTF-8\n")
            self.assertEqual(os.listdir(d), ["bad.idl"])


class Nesting(unittest.TestCase):
    """About 1000 levels of each construct raised RecursionError."""

    def test_rref(self):
        text = "struct S { " + "RRef<" * 1000 + "S" + ">" * 1000 + " x; }"
        self.assertEqual(diagnostics(text), [f"t.idl:1:{12 + 5 * 64}: {NESTING}"])

    def test_ampersand(self):
        self.assertEqual(diagnostics("struct S { " + "&" * 1000 + "u8 x; }"),
                         [f"t.idl:1:{12 + 64}: {NESTING}"])

    def test_prefix_pointer(self):
        self.assertEqual(diagnostics("struct S { " + "*" * 1000 + "u8 x; }"),
                         [f"t.idl:1:{12 + 64}: {NESTING}"])

    def test_postfix_pointer(self):
        # u8 is one level, so the 64th `*` is the 65th.
        self.assertEqual(diagnostics("struct S { u8" + "*" * 1000 + " x; }"),
                         [f"t.idl:1:{14 + 63}: {NESTING}"])

    def test_unbounded_arrays(self):
        self.assertEqual(diagnostics("struct S { u8" + "[]" * 1000 + " x; }"),
                         [f"t.idl:1:{14 + 2 * 63}: {NESTING}"])

    def test_dimensions_after_the_name(self):
        self.assertEqual(diagnostics("struct S { u8 x" + "[1]" * 1000 + "; }"),
                         [f"t.idl:1:{16 + 3 * 63}: {NESTING}"])

    def test_dimensions_after_a_nested_type(self):
        # RRef<S> is two levels; 62 more reach the limit, the 63rd crosses it.
        text = "struct S { u8 a; }\ninterface I { fn f(borrow RRef<S> x" + "[1]" * 63 + \
            ") -> Result<()>; }"
        self.assertEqual(diagnostics(text), [f"t.idl:2:{36 + 3 * 62}: {NESTING}"])

    def test_in_a_result(self):
        text = "interface I { fn f() -> Result<" + "RRef<" * 1000 + "u8" + ">" * 1001 + "; }"
        self.assertEqual(diagnostics(text), [f"t.idl:1:{32 + 5 * 63}: {NESTING}"])

    def test_the_limit_itself_is_accepted(self):
        self.assertEqual(diagnostics("struct S { u8 x" + "[1]" * (MAX_TYPE_NESTING - 1) + "; }"),
                         [])

    def test_through_the_command(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "deep.idl")
            with open(path, "w") as f:
                f.write("struct S { " + "&" * 5000 + "u8 x; }\n")
            r = run_idlc(d, path)
            self.assertEqual((r.returncode, r.stderr.decode()), (1, f"{path}:1:76: {NESTING}\n"))


class Structs(unittest.TestCase):
    def test_chain_of_1500_structs(self):
        # RecursionError before: layout and shapes recursed once per struct.
        text = "struct A0 { u8 x; }\n" + "".join(
            f"struct A{i} {{ A{i - 1} a; }}\n" for i in range(1, 1500))
        self.assertEqual(diagnostics(text),
                         [f"t.idl:{MAX_STRUCT_NESTING + 1}:8: error: struct "
                          f"'A{MAX_STRUCT_NESTING}' holds structs by value more than "
                          f"{MAX_STRUCT_NESTING} levels deep"])

    def test_chain_at_the_limit_is_accepted(self):
        text = "struct A0 { u8 x; }\n" + "".join(
            f"struct A{i} {{ A{i - 1} a; }}\n" for i in range(1, MAX_STRUCT_NESTING))
        self.assertEqual(diagnostics(text), [])

    def test_diamonds_are_linear(self):
        # Each struct holds the one before twice: the cycle check walked every
        # path, 2**30 of them (it had not finished after 20 minutes).
        text = "struct A0 { u8 x; }\n" + "".join(
            f"struct A{i} {{ A{i - 1} a; A{i - 1} b; }}\n" for i in range(1, 31))
        start = time.monotonic()
        self.assertEqual(diagnostics(text),
                         [f"t.idl:{n + 1}:8: error: struct 'A{n}' is {2 ** n} bytes; an RRef "
                          "payload is at most 2097152 bytes" for n in range(22, 31)])
        self.assertLess(time.monotonic() - start, 30)

    def test_one_error_per_set_of_structs_holding_each_other(self):
        text = "struct A { B b; C c; }\nstruct B { A a; }\nstruct C { A a; B b; }"
        self.assertEqual(diagnostics(text), ["t.idl:1:8: error: struct 'A' contains itself "
                                             "(A.b.a)"])

    def test_shapes_are_bounded(self):
        # 16 by-value copies of 16 copies... make a 1.3 MB shape from 6 lines;
        # 300 structs holding it made idlc hash and write 400 MB for 10 minutes.
        text = "struct A0 { u8 xxxxxxxxxxxxxxxxxxxx; }\n" + "".join(
            f"struct A{i} {{ " + " ".join(f"A{i - 1} f{j};" for j in range(16)) + " }\n"
            for i in range(1, 5)) + "".join(f"struct B{i} {{ A4 a; }}\n" for i in range(300))
        self.assertEqual(diagnostics(text),
                         [f"t.idl:11:8: error: struct 'B5': the type ids of this file would "
                          f"hash more than {MAX_SHAPE_BYTES} bytes of shapes (a struct's shape "
                          "holds the shapes of the structs it holds by value)"])


class Size(unittest.TestCase):
    def test_comments_are_read_once(self):
        # Parser.docs() rebuilt the table of every comment for each
        # declaration: 40,000 comments and 40,000 fields (600 KB) are
        # 1.6e9 steps, hours; now one pass. The bound is a hang guard;
        # docs/idl.md has measured figures (10 MB).
        text = "// c\n" * 40000 + "struct Wide {\n" + "".join(
            f"    u8 f{n}; // f{n}\n" for n in range(40000)) + "}\n"
        start = time.monotonic()
        self.assertEqual(diagnostics(text), [])
        self.assertLess(time.monotonic() - start, 30)


class DocComments(unittest.TestCase):
    """What made the comment table linear: a comment documents at most one
    declaration (docs/idl.md, Lexical)."""

    def test_declarations_sharing_a_line(self):
        mod = check_text("t.idl", "// about S\nstruct S { u8 a; u8 b; } // after S\n"
                         "struct T {\n    // above a and b\n    u8 a; u8 b; // after b\n"
                         "    u8 c;\n}\n", "t")
        s, t = mod.struct_order
        self.assertEqual([s.docs, [f.docs for f in s.fields]],
                         [["about S", "after S"], [[], []]])
        self.assertEqual([t.docs, [f.docs for f in t.fields]],
                         [[], [["above a and b"], ["after b"], []]])

    def test_enum_members_and_methods(self):
        mod = check_text("t.idl", "enum E {\n    A, B, // after B\n    // above C\n    C\n}\n"
                         "interface I {\n    // above f\n    @replay fn f() -> Result<()>; "
                         "fn g() -> Result<()>; // after g\n}\n", "t")
        (e,) = mod.enums
        self.assertEqual([m.docs for m in e.members], [[], ["after B"], ["above C"]])
        (i,) = mod.interfaces
        self.assertEqual([m.docs for m in i.methods], [["above f"], ["after g"]])


class FileNames(unittest.TestCase):
    def test_endless_file(self):
        # /dev/zero was read until memory ran out.
        r = subprocess.run([sys.executable, IDLC, "-o", "/nonexistent", "/dev/zero"],
                           capture_output=True, timeout=60)
        self.assertEqual((r.returncode, r.stderr.decode()),
                         (1, f"/dev/zero:1:1: error: file is larger than {MAX_FILE_BYTES} bytes; "
                          "an .idl file is at most that\n"))

    def test_stem_that_is_not_an_identifier_is_refused(self):
        # x-y.idl produced `#ifndef IDL_X-Y_H`.
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "x-y.idl")
            with open(path, "w") as f:
                f.write("struct S { u8 x; }\n")
            r = run_idlc(d, path)
            self.assertEqual(r.returncode, 1)
            self.assertEqual(r.stderr.decode(),
                             f"{path}:1:1: error: file name 'x-y' is not an identifier "
                             "([A-Za-z_][A-Za-z0-9_]*): it names the generated files, their "
                             "include guards and the Python module\n")
            self.assertEqual(os.listdir(d), ["x-y.idl"])

    def test_identifier_stem_names_the_guard(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "x_y2.idl")
            with open(path, "w") as f:
                f.write("struct S { u8 x; }\n")
            self.assertEqual(run_idlc(d, path).returncode, 0)
            with open(os.path.join(d, "x_y2.h")) as f:
                self.assertIn("#ifndef IDL_X_Y2_H\n#define IDL_X_Y2_H\n", f.read())


    def test_path_cannot_break_the_outputs(self):
        # The path is quoted in a C comment and a Python docstring: `*/`
        # ended the comment, `"""` and a backslash broke the module, and an
        # undecodable byte raised UnicodeEncodeError writing them.
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "a*", 'b"""\\c\udcff')
            os.makedirs(src)
            path = os.path.join(src, "ok.idl")
            with open(path, "w") as f:
                f.write("struct S { u8 x; }\n")
            r = run_idlc(d, path)
            self.assertEqual((r.returncode, r.stderr), (0, b""))
            suffix = "a*?b????c?/ok.idl; do not edit."
            with open(os.path.join(d, "ok.h")) as f:
                self.assertTrue(f.read().splitlines()[1].endswith(suffix))
            with open(os.path.join(d, "ok_methods.h")) as f:
                self.assertTrue(f.read().splitlines()[1].endswith(suffix))
            with open(os.path.join(d, "ok.py")) as f:
                module = f.read()
            self.assertTrue(module.splitlines()[0].endswith(suffix))
            compile(module, "ok.py", "exec")


class InternalError(unittest.TestCase):
    def test_a_bug_is_one_line_and_status_3(self):
        """No input reaches this; a load() that raises stands in for a bug."""
        loader = importlib.machinery.SourceFileLoader("idlc_main", IDLC)
        spec = importlib.util.spec_from_loader(loader.name, loader)
        idlc = importlib.util.module_from_spec(spec)
        loader.exec_module(idlc)

        def broken(path):
            raise KeyError("shape")

        idlc.load = broken
        err, argv = io.StringIO(), sys.argv
        sys.argv = ["idlc", "-o", "/nonexistent", "some.idl"]
        try:
            with redirect_stderr(err):
                status = idlc.main()
        finally:
            sys.argv = argv
        self.assertEqual((status, err.getvalue()),
                         (3, "idlc: internal error: some.idl: KeyError: 'shape'\n"))


if __name__ == "__main__":
    unittest.main()
