"""C for a checked Module: one header and one source per .idl file.

The header holds everything a caller needs inline: exchangeable structs
with _Static_asserts on their layout, type ids, the typed RRef API and
container helpers, method indices and words, and the caller-side proxies.
The source holds what runs in a callee or a shadow: the export trampolines,
bind, the create functions and the shadows (shadow.py). docs/idl.md,
"Generated code", is the reference for all of it; the header also opens with
a summary of its own API.
"""
from idl.model import ArrayT, Prim, StructT, is_rref, struct_shape, type_id
from idl.shadow import shadow_decls, shadow_source


def comment(lines, indent=""):
    """A C comment of doc lines: one line if short, else a block."""
    lines = [ln.replace("*/", "* /") for ln in lines]
    if not lines:
        return []
    if len(lines) == 1 and len(lines[0]) + len(indent) < 94:
        return [f"{indent}/* {lines[0]} */"]
    return [f"{indent}/*"] + [f"{indent} * {ln}".rstrip() for ln in lines] + [f"{indent} */"]


def width(line):
    """Columns on screen, with tabs of 8 (the committed .clang-format's)."""
    col = 0
    for ch in line:
        col = (col // 8 + 1) * 8 if ch == "\t" else col + 1
    return col


def wrap(line, limit=100):
    """Break a long call or signature after the commas of its first parentheses,
    continuing under the first argument, as clang-format would."""
    if width(line) <= limit or line.lstrip().startswith(("/*", "*", "#")):
        return [line]
    depth, quote, open_at, breaks = 0, False, None, []
    for k, ch in enumerate(line):
        if ch == '"' and line[k - 1] != "\\":
            quote = not quote
        elif quote:
            continue
        elif ch == "(":
            depth += 1
            if open_at is None:
                open_at = k
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 1:
            breaks.append(k + 1)
    if open_at is None or not breaks:
        return [line]
    col = width(line[:open_at + 1])
    indent = "\t" * (col // 8) + " " * (col % 8)
    out, start, last = [], 0, 0
    for b in breaks + [len(line)]:
        piece = line[start:b] if not out else indent + line[start:b].lstrip()
        if width(piece) > limit and last > start:
            out.append(line[start:last] if not out else indent + line[start:last].lstrip())
            start = last
        last = b
    out.append(line[start:] if not out else indent + line[start:].lstrip())
    return out


def c_decl(ty, name):
    """`uint8_t name[4096]` for a field of the resolved type."""
    dims = ""
    while isinstance(ty, ArrayT):
        dims += f"[{ty.length}]"
        ty = ty.elem
    return f"{ty.c} {name}{dims}"


def value_c(ty):
    """The C type of a plain parameter or result: bool stays bool in registers."""
    if isinstance(ty, Prim):
        return "bool" if ty.name == "bool" else ty.c
    return "rref_t"


def from_long(ty, expr):
    """Convert a gate register back to a parameter's C type."""
    if isinstance(ty, Prim) and ty.name == "bool":
        return f"{expr} != 0"
    return f"({value_c(ty)}){expr}"


def word(iface, m):
    """The method word's value and its spelling with maple/rref_abi.h's macros."""
    value, parts = m.index, [str(m.index)]
    for i, p in enumerate(m.params):
        if p.transfer == "move":
            value |= 1 << (8 + i)
            parts.append(f"XCALL_MOVE({i})")
        elif p.transfer == "borrow":
            value |= 1 << (12 + i)
            parts.append(f"XCALL_BORROW({i})")
    if is_rref(m.result):
        value |= 1 << 16
        parts.append("XCALL_RESULT_RREF")
    return value, " | ".join(parts)


def proxy_sig(iface, m):
    params = [f"const struct {iface.name}_ref *ref"]
    params += [f"{value_c(p.type)} {p.name}" for p in m.params]
    if is_rref(m.result):
        params.append("rref_t *out")
    return f"long {iface.name}_{m.name}({', '.join(params)})"


def impl_member(m):
    params = [f"{value_c(p.type)} {p.name}" for p in m.params]
    if is_rref(m.result):
        params.append("rref_t *out")
    return f"long (*{m.name})({', '.join(params) or 'void'})"


CONTAINER_DOCS = {
    "RRefArray": "slots[i]: an RRef nested in the array (it owns and frees them), or RREF_NULL.",
    "RRefDeque": "slots[(head + i) % CAP] for i < len: RRefs nested in the deque, front first.",
    "RRefVec": "items[0..len): plain data, inline.",
}


class Header:
    def __init__(self, mod, source_name):
        self.mod, self.source_name = mod, source_name
        self.out = []
        self.summary = []

    def emit(self, *lines):
        for line in lines:
            self.out.extend(wrap(line))

    def api(self, line):
        self.summary.append(line)

    def fn(self, sig, body, docs=()):
        self.emit(*comment(list(docs)))
        self.emit(f"static inline {sig}", "{", *[f"\t{b}" if b else "" for b in body], "}", "")

    # ---- structs ----

    def struct(self, s):
        self.emit(f"/* ---- struct {s.name} ---- */", "")
        self.emit(*comment(s.docs))
        self.emit(f"struct {s.name} {{")
        for f in s.fields:
            docs = comment(f.docs)
            decl = f"\t{c_decl(f.type, f.name)};"
            if len(docs) == 1 and len(decl) + len(docs[0]) < 92:
                self.emit(f"{decl} {docs[0]}")
            else:
                self.emit(*comment(f.docs, "\t"), decl)
        self.emit("};")
        self.asserts(f"struct {s.name}", s.name, s.size, s.align,
                     [(f.name, f.offset) for f in s.fields])
        self.typed_api(s.name, f"struct {s.name}", struct_shape(s), f"struct {s.name}")
        for f in s.fields:
            if is_rref(f.type):
                self.nest_field(s, f)

    def asserts(self, c_type, what, size, align, offsets):
        self.emit(f'_Static_assert(sizeof({c_type}) == {size}, "{what}: size");',
                  f'_Static_assert(_Alignof({c_type}) == {align}, "{what}: alignment");')
        for name, off in offsets:
            self.emit(f'_Static_assert(offsetof({c_type}, {name}) == {off}, '
                      f'"{what}.{name}: offset");')
        self.emit("")

    def typed_api(self, name, c_type, shape, title):
        self.emit(f"/* FNV-1a of \"{shape}\" */",
                  f"#define {name}_TYPE 0x{type_id(shape):08x}u", "")
        self.fn(f"rref_t {name}_alloc(void)",
                [f"return rref_alloc({name}_TYPE, sizeof({c_type}));"],
                ["A zeroed one owned by this domain; RREF_NULL if the heap is full."])
        self.fn(f"{c_type} *{name}_ptr(rref_t r)", [f"return ({c_type} *)rref_ptr(r);"])
        self.fn(f"long {name}_free(rref_t r)", ["return rref_free(r);"],
                ["The drop function: the runtime frees every RRef nested in it too."])
        self.api(f"  {title}: type id {name}_TYPE")
        self.api(f"    rref_t {name}_alloc(void);")
        self.api(f"    {c_type} *{name}_ptr(rref_t r);")
        self.api(f"    long {name}_free(rref_t r);")

    def nest_field(self, s, f):
        sig_set = f"long {s.name}_set_{f.name}(rref_t parent, rref_t child)"
        sig_take = f"rref_t {s.name}_take_{f.name}(rref_t parent)"
        self.fn(sig_set, [
            f"struct {s.name} *p = {s.name}_ptr(parent);",
            f"if (p->{f.name} != RREF_NULL)",
            "\treturn -MAPLE_EINVAL;",
            "long r = rref_nest(child, parent);",
            "if (r < 0)",
            "\treturn r;",
            f"p->{f.name} = child;",
            "return 0;",
        ], [f"Nests child (this domain's) in parent as its {f.name}, which must be empty:",
            "parent owns it from now on and frees it with itself."])
        self.fn(sig_take, [
            f"struct {s.name} *p = {s.name}_ptr(parent);",
            f"rref_t child = p->{f.name};",
            "if (child == RREF_NULL || rref_unnest(child) < 0)",
            "\treturn RREF_NULL;",
            f"p->{f.name} = RREF_NULL;",
            "return child;",
        ], [f"Takes {f.name} out of parent, owned by this domain again; RREF_NULL if empty."])
        self.api(f"    {sig_set};")
        self.api(f"    {sig_take};")

    # ---- containers ----

    def container(self, c):
        n = c.c_name
        self.emit(f"/* ---- {c.show()}: struct {n} ---- */", "")
        self.emit(*comment([CONTAINER_DOCS[c.kind]]))
        self.emit(f"struct {n} {{")
        for (c_type, _, _), name, count in c.fields():
            self.emit(f"\t{c_type} {name}{f'[{count}]' if count else ''};")
        self.emit("};")
        offsets, size, align = c.layout()
        self.asserts(f"struct {n}", n, size, align, offsets)
        self.emit(f"#define {n}_CAP {c.length}", "")
        self.typed_api(n, f"struct {n}", c.shape(), f"{c.show()} as struct {n}")
        self.api(f"    {n}_CAP = {c.length}")
        getattr(self, c.kind.lower())(c, n)

    def sig(self, text):
        self.api(f"    {text};")
        return text

    def rrefarray(self, c, n):
        self.fn(self.sig(f"rref_t {n}_get(rref_t a, uint32_t i)"), [
            f"return i < {n}_CAP ? {n}_ptr(a)->slots[i] : RREF_NULL;",
        ], ["The RRef in slot i, still the array's; RREF_NULL if empty or i >= CAP."])
        self.fn(self.sig(f"long {n}_set(rref_t a, uint32_t i, rref_t item)"), [
            f"if (i >= {n}_CAP || {n}_ptr(a)->slots[i] != RREF_NULL)",
            "\treturn -MAPLE_EINVAL;",
            "long r = rref_nest(item, a);",
            "if (r < 0)",
            "\treturn r;",
            f"{n}_ptr(a)->slots[i] = item;",
            "return 0;",
        ], ["Nests item (this domain's) in empty slot i; -MAPLE_EINVAL if i >= CAP or full."])
        self.fn(self.sig(f"rref_t {n}_take(rref_t a, uint32_t i)"), [
            f"rref_t item = {n}_get(a, i);",
            "if (item == RREF_NULL || rref_unnest(item) < 0)",
            "\treturn RREF_NULL;",
            f"{n}_ptr(a)->slots[i] = RREF_NULL;",
            "return item;",
        ], ["Takes slot i's RRef out, owned by this domain again; RREF_NULL if empty."])
        self.fn(self.sig(f"uint32_t {n}_len(rref_t a)"), [
            "uint32_t n = 0;",
            f"for (uint32_t i = 0; i < {n}_CAP; i++)",
            f"\tn += {n}_ptr(a)->slots[i] != RREF_NULL;",
            "return n;",
        ], ["How many slots hold an RRef."])

    def rrefdeque(self, c, n):
        self.fn(self.sig(f"uint32_t {n}_len(rref_t q)"), [
            f"struct {n} *p = {n}_ptr(q);",
            "uint32_t head = __atomic_load_n(&p->head, __ATOMIC_RELAXED);",
            "uint32_t len = __atomic_load_n(&p->len, __ATOMIC_RELAXED);",
            f"if (head >= {n}_CAP || len > {n}_CAP)",
            "\treturn 0;",
            "return len;",
        ], ["How many RRefs it holds (0 if its head or length is out of range). Each",
            "word is read once: the deque is in shared memory, where another thread of the",
            "lender may be rewriting it, so the value checked is the value returned."])
        self.fn(self.sig(f"rref_t {n}_get(rref_t q, uint32_t i)"), [
            f"struct {n} *p = {n}_ptr(q);",
            f"if (i >= {n}_len(q))",
            "\treturn RREF_NULL;",
            f"return p->slots[(p->head + i) % {n}_CAP];",
        ], ["The i-th RRef from the front, still the deque's; RREF_NULL if i >= len."])
        self.fn(self.sig(f"long {n}_push(rref_t q, rref_t item)"), [
            f"struct {n} *p = {n}_ptr(q);",
            f"uint32_t len = {n}_len(q);",
            f"if (len == {n}_CAP || p->len != len)",
            "\treturn -MAPLE_ENOMEM;",
            "long r = rref_nest(item, q);",
            "if (r < 0)",
            "\treturn r;",
            f"p->slots[(p->head + len) % {n}_CAP] = item;",
            "p->len = len + 1;",
            "return 0;",
        ], ["Nests item (this domain's) at the back; -MAPLE_ENOMEM if full."])
        self.fn(self.sig(f"rref_t {n}_pop(rref_t q)"), [
            f"struct {n} *p = {n}_ptr(q);",
            f"rref_t item = {n}_get(q, 0);",
            "if (item == RREF_NULL || rref_unnest(item) < 0)",
            "\treturn RREF_NULL;",
            f"uint32_t head = __atomic_load_n(&p->head, __ATOMIC_RELAXED) % {n}_CAP;",
            "p->slots[head] = RREF_NULL;",
            f"p->head = (head + 1) % {n}_CAP;",
            "p->len--;",
            "return item;",
        ], ["Takes the front RRef out, owned by this domain again; RREF_NULL if empty."])

    def rrefvec(self, c, n):
        elem = c.elem
        by_ptr = isinstance(elem, StructT)
        value = f"const {elem.c} *value" if by_ptr else f"{elem.c} value"
        deref = "*value" if by_ptr else "value"
        self.fn(self.sig(f"uint32_t {n}_len(rref_t v)"), [
            f"uint32_t len = {n}_ptr(v)->len;",
            f"return len <= {n}_CAP ? len : 0;",
        ], ["How many elements it holds (0 if its length is out of range)."])
        self.fn(self.sig(f"{elem.c} *{n}_get(rref_t v, uint32_t i)"), [
            f"return i < {n}_len(v) ? &{n}_ptr(v)->items[i] : NULL;",
        ], ["Element i in place; NULL if i >= len."])
        self.fn(self.sig(f"long {n}_set(rref_t v, uint32_t i, {value})"), [
            f"{elem.c} *item = {n}_get(v, i);",
            "if (!item)",
            "\treturn -MAPLE_EINVAL;",
            f"*item = {deref};",
            "return 0;",
        ], ["Overwrites element i; -MAPLE_EINVAL if i >= len."])
        self.fn(self.sig(f"long {n}_push(rref_t v, {value})"), [
            f"struct {n} *p = {n}_ptr(v);",
            f"uint32_t len = {n}_len(v);",
            f"if (len == {n}_CAP || p->len != len)",
            "\treturn -MAPLE_ENOMEM;",
            f"p->items[len] = {deref};",
            "p->len = len + 1;",
            "return 0;",
        ], ["Appends a copy of value; -MAPLE_ENOMEM if full."])
        self.fn(self.sig(f"long {n}_pop(rref_t v, {elem.c} *out)"), [
            f"uint32_t len = {n}_len(v);",
            "if (len == 0)",
            "\treturn -MAPLE_EINVAL;",
            f"*out = {n}_ptr(v)->items[len - 1];",
            f"{n}_ptr(v)->len = len - 1;",
            "return 0;",
        ], ["Removes the last element into *out; -MAPLE_EINVAL if empty."])

    # ---- interfaces ----

    def interface(self, i):
        self.emit(f"/* ---- interface {i.name} ---- */", "")
        self.emit(*comment(i.docs))
        self.emit(f"struct {i.name}_ref {{",
                  "\tuint64_t domain; /* the callee's handle, as maple_xcall takes it */",
                  "};", "")
        self.api(f"  interface {i.name} (caller side)")
        self.api(f"    struct {i.name}_ref {{ uint64_t domain; }};")
        self.api(f"    long {i.name}_bind(struct {i.name}_ref *ref, const char *domain_name);")
        self.emit(*comment([f"Binds ref to the running domain called domain_name (maple_lookup):",
                            "0 or its -error."]))
        self.emit(f"long {i.name}_bind(struct {i.name}_ref *ref, const char *domain_name);", "")
        for m in i.methods:
            self.proxy(i, m)
        self.callee(i)
        for line in shadow_decls(i):
            self.emit(line)
        self.api(f"  interface {i.name} (shadow side)")
        self.api(f"    long {i.name}_shadow_start(const char *driver_image);")
        self.api(f"    long {i.name}_shadow_start_checked(const char *driver_image, "
                 f"const struct {i.name}_shadow_checks *checks);")
        self.api(f"    void {i.name}_shadow_get_stats(struct {i.name}_shadow_stats *out);")

    def proxy(self, i, m):
        sig = proxy_sig(i, m)
        self.api(f"    {sig};")
        args = [f"(long){p.name}" for p in m.params] + ["0"] * (4 - len(m.params))
        call = f"maple_xcall(ref->domain, {i.name}_{m.name}_WORD, {', '.join(args)})"
        notes = list(m.docs)
        annots = " ".join("@" + a.name for a in m.annots)
        if is_rref(m.result):
            notes.append("On success *out is the result, owned by this domain; returns 0.")
            body = [f"long got = {call};", "if (got < 0)", "\treturn got;",
                    "*out = (rref_t)got;", "return 0;"]
        else:
            body = [f"return {call};"]
        if annots:
            notes.append(annots)
        self.fn(sig, body, notes)

    def callee(self, i):
        self.api(f"  interface {i.name} (callee side)")
        self.api(f"    struct {i.name}_impl {{")
        self.emit(*comment([f"What a domain implementing {i.name} provides, one function per "
                            "method; results",
                            "as the proxies return them (an RRef result goes into *out)."]))
        self.emit(f"struct {i.name}_impl {{")
        for m in i.methods:
            self.emit(f"\t{impl_member(m)};")
            self.api(f"        {impl_member(m)};")
        self.emit("};", "")
        self.api("    };")
        self.api(f"    long {i.name}_export(const struct {i.name}_impl *impl);")
        self.emit(*comment([f"Exports impl's methods in {i.name}'s order (maple_export); "
                            "call it once, from",
                            "domain_main. -MAPLE_EINVAL if a method is missing."]))
        self.emit(f"long {i.name}_export(const struct {i.name}_impl *impl);", "")

    def create(self, c):
        sig = f"long create_{c.name}(struct {c.interface.name}_ref *out)"
        self.api(f"  {sig};")
        self.emit(*comment(c.docs + [f"Starts a new {c.name} domain (maple_domain_create) and "
                                     "binds out to it: 0 or -error."]))
        self.emit(f"{sig};", "")

    def text(self):
        mod = self.mod
        guard = f"IDL_{mod.stem.upper()}_H"
        body_start = len(self.out)
        for s in mod.struct_order:
            self.struct(s)
        for c in mod.containers:
            self.container(c)
        for i in mod.interfaces:
            self.interface(i)
        for c in mod.creates:
            self.create(c)
        body = self.out[body_start:]
        top = [
            "/*",
            f" * Generated by tools/idlc from {self.source_name}; do not edit.",
        ]
        if mod.docs:
            top += [" *"] + [f" * {ln}".rstrip() for ln in mod.docs]
        top += [" *", " * API (docs/idl.md is the reference):", " *"]
        for entry in self.summary:
            indent = entry[:len(entry) - len(entry.lstrip())]
            for k, ln in enumerate(wrap(entry.lstrip(), 100 - 3 - len(indent))):
                top.append(f" * {indent}{'    ' if k else ''}{ln.strip()}")
        top += [" */", f"#ifndef {guard}", f"#define {guard}", "",
                "#include <sdk/dom.h>", "#include <sdk/rref.h>", "",
                f'#include "{mod.stem}_methods.h" /* {{I}}_METHODS, {{I}}_{{m}}_METHOD, _WORD */',
                "",
                "#include <stdbool.h>", "#include <stddef.h>", "#include <stdint.h>", ""]
        return "\n".join(top + body + [f"#endif /* {guard} */", ""])


class Source:
    def __init__(self, mod, source_name):
        self.mod, self.source_name = mod, source_name
        self.out = []

    def emit(self, *lines):
        for line in lines:
            self.out.extend(wrap(line))

    def trampolines(self, i):
        self.emit(f"/* ---- {i.name}: callee side ---- */", "",
                  f"static struct {i.name}_impl {i.name}_active;", "")
        for m in i.methods:
            used = len(m.params)
            self.emit(f"static long {i.name}_{m.name}_entry(long a0, long a1, long a2, long a3)",
                      "{")
            for k in range(used, 4):
                self.emit(f"\t(void)a{k};")
            args = [from_long(p.type, f"a{k}") for k, p in enumerate(m.params)]
            if is_rref(m.result):
                args.append("&out")
                self.emit("\trref_t out = RREF_NULL;",
                          f"\tlong r = {i.name}_active.{m.name}({', '.join(args)});",
                          "\treturn r < 0 ? r : (long)out;")
            else:
                self.emit(f"\treturn {i.name}_active.{m.name}({', '.join(args)});")
            self.emit("}", "")
        missing = " || ".join(f"!impl->{m.name}" for m in i.methods)
        self.emit(f"long {i.name}_export(const struct {i.name}_impl *impl)", "{",
                  f"\tif ({missing})", "\t\treturn -MAPLE_EINVAL;",
                  f"\t{i.name}_active = *impl;", "\tconst uint64_t methods[] = {")
        for m in i.methods:
            self.emit(f"\t\t[{i.name}_{m.name}_METHOD] = MAPLE_METHOD({i.name}_{m.name}_entry),")
        self.emit("\t};", "\treturn maple_export(methods, DOM_ARRAY_LEN(methods));", "}", "")
        self.emit(f"long {i.name}_bind(struct {i.name}_ref *ref, const char *domain_name)", "{",
                  "\tlong h = maple_lookup(domain_name);", "\tif (h < 0)", "\t\treturn h;",
                  "\tref->domain = (uint64_t)h;", "\treturn 0;", "}", "")

    def create(self, c):
        self.emit(f"long create_{c.name}(struct {c.interface.name}_ref *out)", "{",
                  f"\tlong h = maple_domain_create(\"{c.name}\");", "\tif (h < 0)",
                  "\t\treturn h;", "\tout->domain = (uint64_t)h;", "\treturn 0;", "}", "")

    def text(self):
        mod = self.mod
        self.emit("/*", f" * Generated by tools/idlc from {self.source_name}; do not edit.",
                  f" * The out-of-line half of {mod.stem}.h: export trampolines, bind, create",
                  " * functions and shadows.", " */", f'#include "{mod.stem}.h"', "")
        for i in mod.interfaces:
            self.trampolines(i)
            self.emit(*shadow_source(i))
        for c in mod.creates:
            self.create(c)
        while self.out and self.out[-1] == "":
            self.out.pop()
        return "\n".join(self.out) + "\n"


def generate(mod, source_name):
    """(header text, source text) for a checked module."""
    return Header(mod, source_name).text(), Source(mod, source_name).text()
