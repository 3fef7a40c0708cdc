#!/usr/bin/env python3
"""Tests for the IDL compiler (tools/idlc, tools/idl/; docs/idl.md).

Rejections: every rule, with its exact `file:line:col: error:` text. Method
words: the move/borrow/result bits. Type ids: golden values and what does
and does not change them. Generated C: compiled with the domain flags of
tools/configure (-Wall -Wextra -Werror) against the SDK headers, and run on
the host with the fake SDK and gate of tools/testdata/idl/host.c.

Run with `python3 tools/test_idlc.py` or through ci/test's unit group.
"""
import importlib.machinery
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)
sys.path.insert(0, TOOLS)
from idl.cgen import generate, word  # noqa: E402
from idl.consts import consts_header, consts_python  # noqa: E402
from idl.check import check_text, load  # noqa: E402
from idl.model import IdlError, IdlErrors, StructT, fnv1a32, type_id  # noqa: E402

BDEV = os.path.join(ROOT, "domains/idl/bdev.idl")
EVERY = os.path.join(TOOLS, "testdata/idl/every.idl")
HOST = os.path.join(TOOLS, "testdata/idl/host.c")
IDLC = os.path.join(TOOLS, "idlc")


def diagnostics(text, path="t.idl"):
    """The compiler's messages for text, or [] if it is accepted."""
    try:
        check_text(path, text, "t")
    except IdlErrors as e:
        return [str(x) for x in e.errors]
    except IdlError as e:
        return [str(e)]
    return []


def domain_cflags():
    """tools/configure's DOMAIN_CFLAGS, so the check compiles as domains do."""
    loader = importlib.machinery.SourceFileLoader("maple_configure",
                                                  os.path.join(TOOLS, "configure"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    configure = importlib.util.module_from_spec(spec)
    loader.exec_module(configure)
    flags = configure.DOMAIN_CFLAGS.replace("$gccinc", configure.GCCINC)
    return flags.replace("$builddir", "out").split()


# name, source, the exact messages
REJECTS = [
    ("raw_pointer", "struct S { u8 *p; }",
     ["t.idl:1:15: error: raw pointer 'u8 *': pointers are not exchangeable; use RRef<T>"]),
    ("raw_pointer_rust_spelling", "struct S { *mut u8 p; }",
     ["t.idl:1:12: error: raw pointer 'u8 *': pointers are not exchangeable; use RRef<T>"]),
    ("raw_pointer_parameter", "interface I { fn f(u64 *p) -> Result<()>; }",
     ["t.idl:1:24: error: raw pointer 'u64 *': pointers are not exchangeable; use RRef<T>"]),
    ("function_pointer", "struct S { fn(u32) -> u64 callback; }",
     ["t.idl:1:12: error: function pointer type: code addresses are not exchangeable"]),
    ("reference", "struct S { &u8 r; }",
     ["t.idl:1:12: error: reference '&u8': only RRefs can be borrowed (borrow RRef<S>)"]),
    ("reference_parameter", "interface I { fn f(&u64 x) -> Result<()>; }",
     ["t.idl:1:20: error: reference '&u64': only RRefs can be borrowed (borrow RRef<S>)"]),
    ("borrowed_rref_in_struct", "struct T { u8 a; }\nstruct S { &RRef<T> r; }",
     ["t.idl:2:12: error: a borrowed RRef '&RRef<T>' is only a parameter"]),
    ("unbounded_array", "struct S { u8 data[]; }",
     ["t.idl:1:19: error: unbounded array 'u8[]': arrays need a fixed length, T[N]"]),
    ("unbounded_array_type", "struct S { u8[] data; }",
     ["t.idl:1:14: error: unbounded array 'u8[]': arrays need a fixed length, T[N]"]),
    ("not_exchangeable_transitively",
     "struct B { u8 *p; }\nstruct A {\n    B b;\n}\nstruct C { A a[2]; }",
     ["t.idl:1:15: error: raw pointer 'u8 *': pointers are not exchangeable; use RRef<T>",
      "t.idl:3:7: error: field 'b': struct B is not exchangeable (B.p: raw pointer)",
      "t.idl:5:14: error: field 'a': struct A is not exchangeable (A.b.p: raw pointer)"]),
    ("not_exchangeable_function_pointer_inside",
     "struct B { fn() cb; }\nstruct A { B b; }",
     ["t.idl:1:12: error: function pointer type: code addresses are not exchangeable",
      "t.idl:2:14: error: field 'b': struct B is not exchangeable (B.cb: function pointer)"]),
    ("result_missing", "interface I { fn f(); }",
     ["t.idl:1:18: error: method 'f' has no result: results are Result<T>, since a "
      "cross-domain call can always fail"]),
    ("result_not_result", "interface I { fn f() -> u64; }",
     ["t.idl:1:25: error: method 'f' returns 'u64': results are Result<T>, since a "
      "cross-domain call can always fail"]),
    ("result_struct", "struct T { u8 a; }\ninterface I { fn f() -> Result<T>; }",
     ["t.idl:2:25: error: Result<T>: a struct cannot be returned by value; return "
      "Result<RRef<T>>"]),
    ("result_array", "interface I { fn f() -> Result<u8[4]>; }",
     ["t.idl:1:25: error: Result<u8[4]>: an array cannot be returned; return an RRef to a "
      "struct holding it"]),
    ("result_arity", "interface I { fn f() -> Result<u8, u8>; }",
     ["t.idl:1:25: error: Result takes one type: Result<T>"]),
    ("five_parameters", "interface I { fn f(u8 a, u8 b, u8 c, u8 d, u8 e) -> Result<()>; }",
     ["t.idl:1:47: error: method 'f' has 5 parameters; the gate passes at most 4"]),
    ("move_on_integer", "interface I { fn f(move u64 x) -> Result<()>; }",
     ["t.idl:1:20: error: 'move' needs an RRef parameter; 'x' is u64"]),
    ("borrow_on_integer", "interface I { fn f(borrow u64 x) -> Result<()>; }",
     ["t.idl:1:20: error: 'borrow' needs an RRef parameter; 'x' is u64"]),
    ("borrow_and_ampersand",
     "struct T { u8 a; }\ninterface I { fn f(borrow &RRef<T> t) -> Result<()>; }",
     ["t.idl:2:20: error: 'borrow' and '&' both given for 't'; write one of them"]),
    ("rref_without_mode", "struct T { u8 a; }\ninterface I { fn f(RRef<T> t) -> Result<()>; }",
     ["t.idl:2:28: error: RRef parameter 't' needs 'move' or 'borrow'"]),
    ("struct_by_value_parameter", "struct T { u8 a; }\ninterface I { fn f(T t) -> Result<()>; }",
     ["t.idl:2:22: error: parameter 't': struct T cannot be passed by value; pass "
      "'move RRef<T>' or 'borrow RRef<T>'"]),
    ("array_parameter", "interface I { fn f(u8 x[4]) -> Result<()>; }",
     ["t.idl:1:23: error: parameter 'x': an array cannot be passed by value; put it in a "
      "struct behind an RRef"]),
    ("unknown_type", "struct S { Foo f; }", ["t.idl:1:12: error: unknown type 'Foo'"]),
    ("unknown_type_in_rref", "interface I { fn f(move RRef<Foo> x) -> Result<()>; }",
     ["t.idl:1:30: error: unknown type 'Foo'"]),
    ("interface_as_type", "interface I { fn f() -> Result<()>; }\nstruct S { I i; }",
     ["t.idl:2:12: error: 'I' is an interface, not a data type"]),
    ("result_in_struct", "struct S { Result<u8> r; }",
     ["t.idl:1:12: error: Result<...> is only a method's result type"]),
    ("unit_outside_result", "struct S { RRef<()> r; }",
     ["t.idl:1:17: error: '()' is only a method's result type, as Result<()>"]),
    ("type_arguments_on_integer", "struct S { u8<u8> a; }",
     ["t.idl:1:12: error: 'u8' takes no type arguments"]),
    ("type_arguments_on_struct", "struct T { u8 a; }\nstruct S { T<u8> t; }",
     ["t.idl:2:12: error: struct 'T' takes no type arguments"]),
    ("rref_arity", "struct S { RRef<u8, u8> r; }",
     ["t.idl:1:12: error: RRef takes one type: RRef<S>"]),
    ("rref_to_integer", "interface I { fn f(move RRef<u64> x) -> Result<()>; }",
     ["t.idl:1:25: error: RRef<T> needs a struct T, not 'u64'"]),
    ("rref_to_container", "struct T { u8 a; }\nstruct S { RRef<RRefVec<u8, 4>> r; }",
     ["t.idl:2:12: error: RRef<T> needs a struct T, not 'RRefVec<u8, 4>' (a container is "
      "already an RRef)"]),
    ("rref_any_field", "struct S { RRef<any> r; }",
     ["t.idl:1:12: error: RRef<any> is only a method's parameter or result; a field names its "
      "struct, RRef<S>"]),
    ("rref_any_needs_transfer", "interface I { fn f(RRef<any> x) -> Result<()>; }",
     ["t.idl:1:30: error: RRef parameter 'x' needs 'move' or 'borrow'"]),
    ("any_alone", "interface I { fn f(u64 a) -> Result<any>; }",
     ["t.idl:1:37: error: 'any' is only the type of an untyped RRef, RRef<any>"]),
    ("any_container_element", "interface I { fn f(move RRefDeque<any, 4> x) -> Result<()>; }",
     ["t.idl:1:35: error: 'any' is only the type of an untyped RRef, RRef<any>"]),
    ("any_is_builtin", "struct any { u8 a; }",
     ["t.idl:1:8: error: 'any' is a built-in type and cannot name a struct"]),
    ("enum_empty", "enum E { }", ["t.idl:1:6: error: enum 'E' has no members"]),
    ("enum_duplicate", "enum E { A } enum E { B }",
     ["t.idl:1:19: error: duplicate enum 'E' (first at t.idl:1:6)"]),
    ("enum_duplicate_member", "enum E { A, A }",
     ["t.idl:1:13: error: duplicate enum member 'A' in enum E (first at t.idl:1:10)"]),
    ("enum_c_keyword_member", "enum E { int }",
     ["t.idl:1:10: error: 'int' is a C keyword and cannot name an enum member"]),
    ("enum_member_clash", "enum E { A }\nenum F { A }",
     ["t.idl:2:10: error: 'A' would be generated for both enum E member A and enum F member A"]),
    ("enum_tag_clash", "struct E { u8 a; }\nenum E { A }",
     ["t.idl:2:6: error: 'E' would be generated for both struct E and enum E"]),
    ("enum_as_type", "enum E { A }\ninterface I { fn f(E e) -> Result<()>; }",
     ["t.idl:2:20: error: 'E' is an enum, not a type: pass its values as an integer (u32)"]),
    ("enum_annotated", "@replay enum E { A }",
     ["t.idl:1:1: error: @replay applies to interface methods, not to an enum"]),
    ("syntax_enum_comma", "enum E { A B }",
     ["t.idl:1:12: error: expected ',' or '}', found identifier 'B'"]),
    ("param_proxy_name", "interface I { fn f(u64 out) -> Result<()>; }",
     ["t.idl:1:24: error: parameter 'out' would clash with the proxy's own 'out'; the proxy "
      "uses ref, out, got"]),
    ("container_arity", "struct T { u8 a; }\nstruct S { RRefDeque<T> q; }",
     ["t.idl:2:12: error: RRefDeque takes an element type and a length: RRefDeque<T, N>"]),
    ("container_of_integers", "struct S { RRefArray<u8, 4> v; }",
     ["t.idl:1:12: error: RRefArray elements are RRefs to structs, not 'u8'; use "
      "RRefVec<u8, 4> for plain values"]),
    ("vec_of_rrefs", "struct T { RRef<T> n; }\nstruct S { RRefVec<T, 4> v; }",
     ["t.idl:2:12: error: RRefVec<T, 4> holds plain data, but T has RRefs (T.n); use "
      "RRefArray<T, 4>"]),
    ("vec_of_arrays", "struct S { RRefVec<u8[4], 2> v; }",
     ["t.idl:1:12: error: RRefVec elements are integers or structs, not 'u8[4]'"]),
    ("array_of_rrefs", "struct T { u8 a; }\nstruct S { RRef<T> kids[4]; }",
     ["t.idl:2:24: error: array of RRefs 'RRef<T>[4]': use RRefArray<S, N>"]),
    ("array_length_zero", "struct S { u8 a[0]; }",
     ["t.idl:1:16: error: array length must be at least 1"]),
    ("container_length_zero", "struct T { u8 a; }\nstruct S { RRefDeque<T, 0> q; }",
     ["t.idl:2:25: error: length must be at least 1"]),
    ("number_too_large", "struct S { u8 a[99999999999]; }",
     ["t.idl:1:17: error: number 99999999999 is out of range (at most 4294967295)"]),
    ("struct_contains_itself", "struct A { B b; }\nstruct B { A a; }",
     ["t.idl:1:8: error: struct 'A' contains itself (A.b.a)"]),
    ("empty_struct", "struct S { }", ["t.idl:1:8: error: struct 'S' has no fields"]),
    ("struct_too_large", "struct S { u8 a[3000000]; }",
     ["t.idl:1:8: error: struct 'S' is 3000000 bytes; an RRef payload is at most 2097152 "
      "bytes"]),
    ("container_too_large", "struct S { RRefVec<u64, 300000> v; }",
     ["t.idl:1:12: error: 'RRefVec<u64, 300000>' is 2400008 bytes; an RRef payload is at "
      "most 2097152 bytes"]),
    ("duplicate_struct", "struct S { u8 a; }\nstruct S { u8 b; }",
     ["t.idl:2:8: error: duplicate struct 'S' (first at t.idl:1:8)"]),
    ("duplicate_interface",
     "interface I { fn f() -> Result<()>; }\ninterface I { fn g() -> Result<()>; }",
     ["t.idl:2:11: error: duplicate interface 'I' (first at t.idl:1:11)"]),
    ("interface_named_like_struct", "struct S { u8 a; }\ninterface S { fn g() -> Result<()>; }",
     ["t.idl:2:11: error: 'S' is already defined as a struct at t.idl:1:8"]),
    ("duplicate_method", "interface I {\n fn f() -> Result<()>;\n fn f() -> Result<u8>;\n}",
     ["t.idl:3:5: error: duplicate method 'f' in interface I (first at t.idl:2:5)"]),
    ("duplicate_field", "struct S { u8 a; u16 a; }",
     ["t.idl:1:22: error: duplicate field 'a' in struct S (first at t.idl:1:15)"]),
    ("duplicate_parameter", "interface I { fn f(u8 a, u8 a) -> Result<()>; }",
     ["t.idl:1:29: error: duplicate parameter 'a' in method f (first at t.idl:1:23)"]),
    ("duplicate_create",
     "interface I { fn f() -> Result<()>; }\ncreate x() -> I;\ncreate fn x() -> I;",
     ["t.idl:3:11: error: duplicate create function 'x' (first at t.idl:2:8)"]),
    ("c_keyword", "struct S { u8 int; }",
     ["t.idl:1:15: error: 'int' is a C keyword and cannot name a field"]),
    ("builtin_name", "struct u8 { u8 a; }",
     ["t.idl:1:8: error: 'u8' is a built-in type and cannot name a struct"]),
    ("generated_name_clash", "interface I { fn export() -> Result<()>; }",
     ["t.idl:1:18: error: 'I_export' would be generated for both interface I and interface I "
      "method export"]),
    ("too_many_methods",
     "interface I {\n" + "".join(f" fn m{i}() -> Result<()>;\n" for i in range(33)) + "}",
     ["t.idl:34:5: error: interface 'I' has 33 methods; a domain exports at most 32"]),
    ("no_methods", "interface I { }", ["t.idl:1:11: error: interface 'I' has no methods"]),
    ("annotation_on_struct", "@replay struct S { u8 a; }",
     ["t.idl:1:1: error: @replay applies to interface methods, not to a struct"]),
    ("annotation_on_interface", "@idempotent interface I { fn f() -> Result<()>; }",
     ["t.idl:1:1: error: @idempotent applies to interface methods, not to an interface"]),
    ("annotation_on_field", "struct S { @idempotent u8 a; }",
     ["t.idl:1:12: error: @idempotent applies to interface methods, not to a field"]),
    ("annotation_on_parameter", "interface I { fn f(@replay u8 a) -> Result<()>; }",
     ["t.idl:1:20: error: @replay applies to interface methods, not to a parameter"]),
    ("annotation_on_create", "interface I { fn f() -> Result<()>; }\n@replay create x() -> I;",
     ["t.idl:2:1: error: @replay applies to interface methods, not to a create function"]),
    ("annotation_on_free_function", "@replay fn f() -> Result<()>;",
     ["t.idl:1:1: error: @replay applies to interface methods, not to a function outside an "
      "interface"]),
    ("unknown_annotation", "interface I { @fast fn f() -> Result<()>; }",
     ["t.idl:1:15: error: unknown annotation '@fast' (known: @replay, @idempotent, @resets)"]),
    ("resets_without_replay", "interface I { @resets fn f() -> Result<()>; }",
     ["t.idl:1:15: error: @resets method 'f' is not @replay: only a recorded call can restart "
      "the record"]),
    ("duplicate_annotation", "interface I { @replay @replay fn f() -> Result<()>; }",
     ["t.idl:1:23: error: duplicate annotation '@replay'"]),
    ("replay_with_rref", "struct T { u8 a; }\n"
     "interface I { @replay fn f(borrow RRef<T> t) -> Result<()>; }",
     ["t.idl:2:43: error: @replay method 'f' takes RRef parameter 't': a shadow cannot replay "
      "it after a restart"]),
    ("replay_returning_rref", "struct T { u8 a; }\n"
     "interface I { @replay fn f() -> Result<RRef<T>>; }",
     ["t.idl:2:33: error: @replay method 'f' returns an RRef: a shadow cannot replay it after "
      "a restart"]),
    ("idempotent_with_move", "struct T { u8 a; }\n"
     "interface I { @idempotent fn f(move RRef<T> t) -> Result<()>; }",
     ["t.idl:2:45: error: @idempotent method 'f' moves RRef parameter 't': a shadow cannot "
      "retry it after a crash"]),
    ("create_unknown_interface", "create x() -> Nope;",
     ["t.idl:1:15: error: unknown interface 'Nope'"]),
    ("create_struct", "struct S { u8 a; }\ncreate x() -> S;",
     ["t.idl:2:15: error: 'S' is a struct, not an interface"]),
    ("create_long_name",
     "interface I { fn f() -> Result<()>; }\ncreate abcdefghijabcdefghijabcdefghijab() -> I;",
     ["t.idl:2:8: error: domain name 'abcdefghijabcdefghijabcdefghijab' is longer than 31 "
      "characters"]),
    ("syntax_missing_semicolon", "struct S { u8 a }",
     ["t.idl:1:17: error: expected ';', found '}'"]),
    ("syntax_end_of_file", "struct S { u8 a; ",
     ["t.idl:1:18: error: expected '}', found end of file"]),
    ("syntax_parameter_list", "interface I { fn f(u8 a u8 b) -> Result<()>; }",
     ["t.idl:1:25: error: expected ',' or ')', found identifier 'u8'"]),
    ("syntax_declaration", "strct S {}",
     ["t.idl:1:1: error: expected 'struct', 'interface', 'enum' or 'create', found identifier 'strct'"]),
    ("syntax_keyword_as_name", "struct fn { u8 a; }",
     ["t.idl:1:8: error: expected struct name, found keyword 'fn'"]),
    ("syntax_method_without_fn", "interface I { f() -> Result<()>; }",
     ["t.idl:1:15: error: expected 'fn', found identifier 'f'"]),
    ("syntax_create_parameters", "interface I { fn f() -> Result<()>; }\ncreate x(u8 a) -> I;",
     ["t.idl:2:10: error: expected ')' (create functions take no parameters), found "
      "identifier 'u8'"]),
    ("syntax_generic", "struct T { u8 a; }\nstruct S { RRefDeque<T, 4 q; }",
     ["t.idl:2:27: error: expected ',' or '>', found identifier 'q'"]),
    ("syntax_unexpected_character", "struct S { u8 a; } $",
     ["t.idl:1:20: error: unexpected character '$'"]),
    ("syntax_block_comment", "/* no */ struct S { u8 a; }",
     ["t.idl:1:1: error: unexpected character '/'"]),
]


class Rejects(unittest.TestCase):
    """One test per rule: the exact messages, in source order."""

    def check(self, source, expected):
        self.assertEqual(diagnostics(source), expected)


def _reject_test(source, expected):
    def test(self):
        self.check(source, expected)
    return test


for _name, _source, _expected in REJECTS:
    setattr(Rejects, f"test_{_name}", _reject_test(_source, _expected))


class Accepts(unittest.TestCase):
    def test_bdev(self):
        mod = load(BDEV, "domains/idl/bdev.idl")
        buf, req = mod.struct_order
        self.assertEqual((buf.name, buf.size), ("BlockBuf", 131072))
        self.assertEqual([(f.name, f.offset) for f in req.fields],
                         [("data", 0), ("block", 4096), ("op", 4104), ("status", 4108),
                          ("nblocks", 4112), ("offset", 4116), ("buf", 4120)])
        self.assertEqual((req.size, req.align), (4128, 8))
        (dq,) = mod.containers
        self.assertEqual((dq.c_name, dq.layout()),
                         ("BlockReq_deque32", ([("head", 0), ("len", 4), ("slots", 8)], 264, 8)))
        self.assertEqual([m.name for m in mod.interfaces[0].methods],
                         ["init", "submit", "stats", "flush", "capacity", "block_size"])
        self.assertEqual([c.name for c in mod.creates], ["membdev", "nvme"])

    def test_every(self):
        with open(EVERY) as f:
            self.assertEqual(diagnostics(f.read(), EVERY), [])

    def test_layout_padding(self):
        mod = check_text("t.idl", "struct P { u8 a; u64 b; u16 c[3]; }\n"
                         "struct Q { u8 x; P p; bool y; }", "t")
        p, q = mod.struct_order
        self.assertEqual([f.offset for f in p.fields], [0, 8, 16])
        self.assertEqual((p.size, p.align), (24, 8))
        self.assertEqual([f.offset for f in q.fields], [0, 8, 32])
        self.assertEqual(q.size, 40)

    def test_order_puts_held_structs_first(self):
        mod = check_text("t.idl", "struct A { B b; RRef<C> c; }\nstruct B { u8 x; }\n"
                         "struct C { u8 y; }", "t")
        self.assertEqual([s.name for s in mod.struct_order], ["B", "A", "C"])

    def test_rrefs_may_form_cycles(self):
        self.assertEqual(diagnostics("struct Node { u64 v; RRef<Node> next; }"), [])

    def test_ampersand_is_borrow(self):
        mod = check_text("t.idl", "struct T { u8 a; }\n"
                         "interface I { fn f(&RRef<T> t, move RRef<T> u) -> Result<()>; }", "t")
        self.assertEqual([p.transfer for p in mod.interfaces[0].methods[0].params],
                         ["borrow", "move"])

    def test_docs(self):
        mod = check_text("t.idl", "// file\n\n// about S\nstruct S {\n"
                         "    // above a\n    u8 a; // after a\n    u8 b;\n}\n", "t")
        (s,) = mod.struct_order
        self.assertEqual(mod.docs, ["file"])
        self.assertEqual(s.docs, ["about S"])
        self.assertEqual(s.fields[0].docs, ["above a", "after a"])
        self.assertEqual(s.fields[1].docs, [])

    def test_all_errors_at_once(self):
        self.assertEqual(len(diagnostics("struct S { u8 *p; Foo f; }\n"
                                         "interface I { fn f() -> u8; }")), 3)


class MethodWords(unittest.TestCase):
    def words(self, path):
        mod = load(path)
        return {m.name: word(i, m) for i in mod.interfaces for m in i.methods}

    def test_bdev(self):
        self.assertEqual(self.words(BDEV), {
            "init": (0x0, "0"),
            "submit": (0x1001, "1 | XCALL_BORROW(0)"),
            "stats": (0x2, "2"),
            "flush": (0x3, "3"),
            "capacity": (0x4, "4"),
            "block_size": (0x5, "5"),
        })

    def test_every(self):
        self.assertEqual(self.words(EVERY), {
            "configure": (0x0, "0"),
            "reset": (0x1, "1"),
            "give": (0x102, "2 | XCALL_MOVE(0)"),
            "look": (0x3003, "3 | XCALL_BORROW(0) | XCALL_BORROW(1)"),
            "make": (0x10004, "4 | XCALL_RESULT_RREF"),
            "swap": (0x12105, "5 | XCALL_MOVE(0) | XCALL_BORROW(1) | XCALL_RESULT_RREF"),
        })

    def test_fourth_parameter_bits(self):
        mod = check_text("t.idl", "struct T { u8 a; }\ninterface I {\n"
                         " fn f(u8 a, u8 b, u8 c, move RRef<T> d) -> Result<()>;\n"
                         " fn g(u8 a, u8 b, u8 c, borrow RRef<T> d) -> Result<()>;\n}", "t")
        f, g = mod.interfaces[0].methods
        self.assertEqual(word(None, f)[0], 0x800)
        self.assertEqual(word(None, g)[0], 0x8001)

    def test_any_rref(self):
        # RRef<any> sets the same transfer bits as a typed RRef and adds no type.
        mod = check_text("t.idl", "interface I {\n fn f(move RRef<any> a, borrow RRef<any> b) "
                         "-> Result<RRef<any>>;\n fn g(u64 a, &RRef<any> b) -> Result<()>;\n}", "t")
        f, g = mod.interfaces[0].methods
        self.assertEqual(word(None, f), (0x12100, "0 | XCALL_MOVE(0) | XCALL_BORROW(1) | "
                                         "XCALL_RESULT_RREF"))
        self.assertEqual(word(None, g), (0x2001, "1 | XCALL_BORROW(1)"))
        self.assertEqual((mod.struct_order, mod.containers), ([], []))

    def test_converted_test_domains(self):
        # The words the test domains' callers used to spell by hand.
        words = {}
        for stem in ("xb", "rref_b", "rref_c", "rref_evil"):
            words.update({f"{stem}.{m}": w[0] for m, w in
                          self.words(os.path.join(ROOT, "domains/idl", stem + ".idl")).items()})
        self.assertEqual(words["xb.echo"], 3 | 0x100 | 0x10000)
        self.assertEqual(words["rref_b.give"], 3 | 0x10000)
        self.assertEqual(words["rref_b.lend_to_c"], 7 | 0x1000)
        self.assertEqual(words["rref_c.touch"], 0 | 0x1000)
        self.assertEqual(words["rref_evil.check_mine"], 4)
        self.assertEqual(words["rref_evil.peek_info"], 6 | 0x1000)

    def test_header_spells_them(self):
        header = consts_header(load(BDEV), "domains/idl/bdev.idl")
        self.assertIn("#define BlockDevice_submit_WORD 0x1001UL /* 1 | XCALL_BORROW(0) */", header)
        self.assertIn("_Static_assert(BlockDevice_submit_WORD == (1 | XCALL_BORROW(0)),", header)


class MethodConstants(unittest.TestCase):
    """<stem>_methods.h and <stem>.py: the numbers kernel tests and host scripts use."""

    TWO = "interface I {{\n fn {}(i64 x) -> Result<i64>;\n fn {}() -> Result<()>;\n}}"

    def python(self, mod):
        values = {}
        exec(consts_python(mod, "t.idl"), values)
        return {k: v for k, v in values.items() if not k.startswith("__")}

    def test_bdev_python(self):
        self.assertEqual(self.python(load(BDEV)), {
            "BlockDevice_METHODS": 6,
            "BlockDevice_init_METHOD": 0, "BlockDevice_init_WORD": 0x0,
            "BlockDevice_submit_METHOD": 1, "BlockDevice_submit_WORD": 0x1001,
            "BlockDevice_stats_METHOD": 2, "BlockDevice_stats_WORD": 0x2,
            "BlockDevice_flush_METHOD": 3, "BlockDevice_flush_WORD": 0x3,
            "BlockDevice_capacity_METHOD": 4, "BlockDevice_capacity_WORD": 0x4,
            "BlockDevice_block_size_METHOD": 5, "BlockDevice_block_size_WORD": 0x5,
        })

    def test_reordering_renumbers(self):
        before = self.python(check_text("t.idl", self.TWO.format("a", "b"), "t"))
        after = self.python(check_text("t.idl", self.TWO.format("b", "a"), "t"))
        self.assertEqual((before["I_a_METHOD"], before["I_b_METHOD"]), (0, 1))
        self.assertEqual((after["I_a_METHOD"], after["I_b_METHOD"]), (1, 0))
        header = consts_header(check_text("t.idl", self.TWO.format("b", "a"), "t"), "t.idl")
        self.assertIn("#define I_b_METHOD 0\n", header)
        self.assertIn("#define I_a_METHOD 1\n", header)

    ENUM = "// counters\nenum E {{\n    {}, // first\n    {},\n}}\n"

    def test_enum_python_and_c(self):
        mod = check_text("t.idl", self.ENUM.format("A", "B"), "t")
        self.assertEqual(self.python(mod), {"A": 0, "B": 1, "E_COUNT": 2})
        header = consts_header(mod, "t.idl")
        self.assertIn("/* counters */\nenum E {\n\tA = 0, /* first */\n\tB = 1,\n};\n"
                      "#define E_COUNT 2\n", header)
        after = self.python(check_text("t.idl", self.ENUM.format("B", "A"), "t"))
        self.assertEqual((after["A"], after["B"]), (1, 0))  # reordering renumbers

    def test_bdclient_counters(self):
        """recovery.py reads these by name; bdclient.c sizes its table with the count."""
        values = self.python(load(os.path.join(ROOT, "domains/idl/bdclient.idl")))
        self.assertEqual({k: values[k] for k in ("BDC_RUNNING", "BDC_OPS", "BDC_LAST_ERROR",
                                                 "BdcStat_COUNT")},
                         {"BDC_RUNNING": 0, "BDC_OPS": 1, "BDC_LAST_ERROR": 8, "BdcStat_COUNT": 12})

    def test_header_is_kernel_safe(self):
        """Only maple/rref_abi.h: the kernel includes it, and it has no SDK root."""
        header = consts_header(load(EVERY), "every.idl")
        includes = [ln for ln in header.splitlines() if ln.startswith("#include")]
        self.assertEqual(includes, ["#include <maple/rref_abi.h>"])
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "every_methods.h"), "w") as f:
                f.write(header)
            src = os.path.join(d, "k.c")
            with open(src, "w") as f:
                f.write('#include "every_methods.h"\n#include "every_methods.h"\n'
                        "int n = Everything_METHODS;\n"
                        "_Static_assert(EVERY_GREEN == 1 && EveryColor_COUNT == 2, \"enum\");\n")
            r = subprocess.run(["gcc", "-std=gnu11", "-Wall", "-Wextra", "-Werror",
                                "-Ikernel/include", "-fsyntax-only", src],
                               cwd=ROOT, capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)


class TypeIds(unittest.TestCase):
    def ids(self, text):
        mod = check_text("t.idl", text, "t")
        out = {s.name: type_id(StructT(s).shape()) for s in mod.struct_order}
        out.update({c.c_name: type_id(c.shape()) for c in mod.containers})
        return out

    def test_fnv1a_reference_values(self):
        self.assertEqual(fnv1a32(""), 0x811c9dc5)
        self.assertEqual(fnv1a32("a"), 0xe40c292c)
        self.assertEqual(fnv1a32("foobar"), 0xbf9cf968)

    def test_bdev_golden(self):
        # Drivers and clients built at different times must agree: these
        # change only if BlockReq or the deque really change.
        header, _ = generate(load(BDEV), "domains/idl/bdev.idl")
        self.assertIn("#define BlockReq_TYPE 0xd75763d4u", header)
        self.assertIn("#define BlockReq_deque32_TYPE 0x70507248u", header)

    def test_shapes(self):
        mod = load(EVERY)
        shapes = {s.name: StructT(s).shape() for s in mod.struct_order}
        self.assertEqual(shapes["Node"], "struct Node{u64 value;RRef<Node> next;}")
        self.assertEqual({c.c_name: c.shape() for c in mod.containers}["Point_vec8"],
                         "RRefVec<struct Point{i16 x;i16 y;},8>")

    def test_stable_under_layout_of_the_source(self):
        a = self.ids("struct S { u32 a; u8 b[4]; }\nstruct T { RRefDeque<S, 8> q; }")
        b = self.ids("// moved around\nstruct T {\n  RRefDeque<S,8> q; // same\n}\n\n"
                     "struct S {\n    u32   a;\n    u8    b[ 4 ];\n}\n")
        self.assertEqual(a, b)

    def test_change_with_the_shape(self):
        base = self.ids("struct S { u32 a; u8 b[4]; }")["S"]
        for variant in ("struct S { u32 a; u8 c[4]; }", "struct S { u64 a; u8 b[4]; }",
                        "struct S { u32 a; u8 b[5]; }", "struct S { u8 b[4]; u32 a; }",
                        "struct S { u32 a; u8 b[4]; u8 c; }"):
            self.assertNotEqual(self.ids(variant)["S"], base, variant)
        self.assertNotEqual(self.ids("struct R { u32 a; u8 b[4]; }")["R"], base)

    def test_held_structs_are_part_of_the_shape(self):
        one = self.ids("struct P { u8 x; }\nstruct S { P p; RRef<P> r; }")["S"]
        held = self.ids("struct P { u16 x; }\nstruct S { P p; RRef<P> r; }")["S"]
        pointed = self.ids("struct P { u16 x; }\nstruct Q { u8 x; }\n"
                           "struct S { Q p; RRef<P> r; }")
        self.assertNotEqual(one, held)
        self.assertNotEqual(pointed["S"], one)  # Q by value: a different name in the shape


class GeneratedC(unittest.TestCase):
    """The output for bdev.idl and every.idl, compiled and run."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="idlc-test-")
        cls.text = {}
        for path in (BDEV, EVERY):
            mod = load(path)
            name = os.path.relpath(path, ROOT)
            header, source = generate(mod, name)
            methods = consts_header(mod, name)
            for ext, text in ((".h", header), (".c", source), ("_methods.h", methods)):
                name = mod.stem + ext
                cls.text[name] = text
                with open(os.path.join(cls.tmp, name), "w") as f:
                    f.write(text)
        cls.host = None
        cls.host_error = None
        host = os.path.join(cls.tmp, "host")
        r = subprocess.run(["gcc", "-std=gnu11", "-O1", "-g", "-Wall", "-Wextra", "-Werror",
                            "-fsanitize=undefined", "-fno-sanitize-recover",
                            "-Idomains", "-Ikernel/include", f"-I{cls.tmp}", HOST,
                            os.path.join(cls.tmp, "bdev.c"), os.path.join(cls.tmp, "every.c"),
                            "-o", host], cwd=ROOT, capture_output=True, text=True)
        if r.returncode == 0:
            cls.host = host
        else:
            cls.host_error = r.stderr.strip()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def compile(self, name):
        r = subprocess.run(["gcc", *domain_cflags(), f"-I{self.tmp}", "-fsyntax-only",
                            os.path.join(self.tmp, name)],
                           cwd=ROOT, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_bdev_source_compiles(self):
        self.compile("bdev.c")

    def test_every_source_compiles(self):
        self.compile("every.c")

    def test_any_rref_source_compiles(self):
        # RRef<any> through proxies, trampolines and a shadow: plain rref_t.
        mod = load(os.path.join(ROOT, "domains/idl/xb.idl"))
        header, source = generate(mod, "domains/idl/xb.idl")
        methods = consts_header(mod, "domains/idl/xb.idl")
        for name, text in (("xb.h", header), ("xb.c", source), ("xb_methods.h", methods)):
            with open(os.path.join(self.tmp, name), "w") as f:
                f.write(text)
        self.compile("xb.c")

    def test_headers_compile_alone(self):
        for name in ("bdev.h", "every.h"):
            path = os.path.join(self.tmp, f"only_{name}.c")
            with open(path, "w") as f:
                f.write(f'#include "{name}"\n#include "{name}"\n')  # and guarded
            self.compile(os.path.basename(path))

    def test_bdev_api(self):
        """The signatures the block-device driver, client and shadow are written against."""
        header = self.text["bdev.h"]
        for decl in [
            "struct BlockReq {\n\tuint8_t data[4096];",
            "static inline rref_t BlockReq_alloc(void)",
            "static inline struct BlockReq *BlockReq_ptr(rref_t r)",
            "static inline long BlockReq_free(rref_t r)",
            "static inline rref_t BlockReq_deque32_alloc(void)",
            "static inline long BlockReq_deque32_push(rref_t q, rref_t item)",
            "static inline rref_t BlockReq_deque32_pop(rref_t q)",
            "static inline uint32_t BlockReq_deque32_len(rref_t q)",
            "static inline rref_t BlockReq_deque32_get(rref_t q, uint32_t i)",
            "struct BlockDevice_ref {\n\tuint64_t domain;",
            "long BlockDevice_bind(struct BlockDevice_ref *ref, const char *domain_name);",
            "static inline long BlockDevice_init(const struct BlockDevice_ref *ref, "
            "uint64_t nblocks,\n\t\t\t\t    uint64_t block_size)",
            "static inline long BlockDevice_submit(const struct BlockDevice_ref *ref, rref_t reqs)",
            "static inline long BlockDevice_stats(const struct BlockDevice_ref *ref)",
            "struct BlockDevice_impl {\n\tlong (*init)(uint64_t nblocks, uint64_t block_size);\n"
            "\tlong (*submit)(rref_t reqs);\n\tlong (*stats)(void);\n\tlong (*flush)(void);\n"
            "\tlong (*capacity)(void);\n\tlong (*block_size)(void);\n};",
            "long BlockDevice_export(const struct BlockDevice_impl *impl);",
            "long BlockDevice_shadow_start(const char *driver_image);",
            "long BlockDevice_shadow_start_checked(const char *driver_image,\n\t\t\t\t      "
            "const struct BlockDevice_shadow_checks *checks);",
            "void BlockDevice_shadow_get_stats(struct BlockDevice_shadow_stats *out);",
            "long create_membdev(struct BlockDevice_ref *out);",
        ]:
            self.assertIn(decl, header)

    def run_host(self, case):
        if self.host is None:
            self.fail(f"tools/testdata/idl/host.c does not build: {self.host_error}")
        r = subprocess.run([self.host, case], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, (r.stdout + r.stderr).strip())
        return r.stdout

    def test_run_deque(self):
        self.run_host("deque")

    def test_run_array_vec_fields(self):
        self.run_host("array_vec_fields")

    def test_run_proxies_and_export(self):
        self.run_host("proxies")

    def test_run_every_method_kind(self):
        self.run_host("every")

    def test_run_shadow_restart_replay_retry(self):
        out = self.run_host("shadow_restart")
        self.assertIn("shadow BlockDevice: restarted membdev (restart 1), replayed 1 calls", out)

    def test_run_shadow_dead_driver(self):
        self.run_host("shadow_dead_driver")

    def test_run_shadow_retries_bounded(self):
        self.run_host("shadow_retries_bounded")

    def test_run_shadow_start_fails(self):
        self.run_host("shadow_start_fails")

    def test_run_shadow_log_resets(self):
        self.run_host("shadow_log_resets")

    def test_run_shadow_checks(self):
        out = self.run_host("shadow_checks")
        self.assertIn("shadow BlockDevice: membdev (handle 0x", out)
        self.assertIn(") answered submit wrongly; restarting it", out)


class Command(unittest.TestCase):
    def run_idlc(self, *args):
        return subprocess.run([sys.executable, IDLC, *args], capture_output=True, text=True)

    def test_errors_write_nothing(self):
        with tempfile.TemporaryDirectory() as d:
            bad = os.path.join(d, "bad.idl")
            with open(bad, "w") as f:
                f.write("struct S {\n    u8 *p;\n    Foo f;\n}\n")
            r = self.run_idlc("-o", d, bad)
            self.assertEqual(r.returncode, 1)
            self.assertEqual(r.stderr.splitlines(), [
                f"{bad}:2:8: error: raw pointer 'u8 *': pointers are not exchangeable; use "
                "RRef<T>",
                f"{bad}:3:5: error: unknown type 'Foo'",
            ])
            self.assertEqual(sorted(os.listdir(d)), ["bad.idl"])

    def test_missing_file(self):
        r = self.run_idlc("-o", "/nonexistent", "no-such.idl")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.strip(), "idlc: cannot read no-such.idl: No such file or directory")

    def test_writes_only_changes(self):
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(self.run_idlc("-o", d, BDEV).returncode, 0)
            self.assertEqual(sorted(os.listdir(d)),
                             ["bdev.c", "bdev.h", "bdev.py", "bdev_methods.h"])
            header = os.path.join(d, "bdev.h")
            os.utime(header, (1, 1))
            self.assertEqual(self.run_idlc("-o", d, BDEV).returncode, 0)
            self.assertEqual(os.stat(header).st_mtime, 1)


if __name__ == "__main__":
    unittest.main()
