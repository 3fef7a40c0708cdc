"""The IDL's checker: resolves spelled types and enforces every rule of
docs/idl.md that is not grammar. It reports all errors of a file at once
(IdlErrors), each at the construct that breaks the rule, and on success
returns a Module with layouts, type ids and method indices filled in, which
is all the code generators read.
"""
import os
import re

from idl.model import (CONTAINERS, PRIMS, RREF_MAX_SIZE, AnyRRefT, ArrayT, ContainerT, FnPtr,
                       IdlError,
                       IdlErrors, Loc, Named, Prim, Ptr, Ref, RRefT, SizedArray, StructT,
                       UnboundedArray, Unit, UnitT, align_up, is_rref, spelled, struct_shape,
                       type_id)
from idl.syntax import parse

MAX_PARAMS = 4  # the gate passes a0..a3
# Names the generated proxy declares beside the parameters (cgen.py's proxy:
# the callee's handle, the RRef result and the call's result).
PROXY_NAMES = ("ref", "out", "got")
MAX_METHODS = 32  # SYS_EXPORT takes at most 32 entries
NAME_MAX = 31  # MAPLE_DOMAIN_NAME_MAX less the terminating NUL
# Structs held by value inside structs (the real files: 2). Bounds the paths
# in messages and the walks that build a struct's shape and its RRef path.
MAX_STRUCT_NESTING = 64
# The bytes of shape text the type ids of one file hash (the real files: a
# few KiB). A struct's shape holds the shapes of the structs it holds by
# value, so shapes can grow much faster than the file; this bounds the
# hashing and the generated headers, which quote each shape.
MAX_SHAPE_BYTES = 16 * 1024 * 1024
# The bytes of one .idl file (the real files: 6 KiB at most). Compiling is
# linear, about 1.1 s of CPU and 47 MB of memory per MiB of input, so this
# bounds a run to about 20 s and 800 MB.
MAX_FILE_BYTES = 16 * 1024 * 1024
BUILTIN = set(PRIMS) | set(CONTAINERS) | {"RRef", "Result", "any"}
C_KEYWORDS = set("""
    auto break case char const continue default do double else enum extern float for goto if
    inline int long register restrict return short signed sizeof static struct switch typedef
    union unsigned void volatile while _Alignas _Alignof _Atomic _Bool _Complex _Generic
    _Imaginary _Noreturn _Static_assert _Thread_local asm typeof bool true false NULL
""".split())


class NotExchangeable(IdlError):
    """A type no struct may hold; `what` names it for the enclosing structs' errors."""

    def __init__(self, loc, message, what):
        super().__init__(loc, message)
        self.what = what


class Module:
    def __init__(self, path, stem, docs, order, containers, interfaces, creates, enums):
        self.path, self.stem, self.docs = path, stem, docs
        self.enums = enums
        self.struct_order = order  # every struct after the ones it holds by value
        self.containers = containers  # first use order
        self.interfaces, self.creates = interfaces, creates


class Checker:
    def __init__(self, path, docs, structs, interfaces, creates, enums):
        self.path, self.docs = path, docs
        self.enums = enums
        self.structs, self.interfaces, self.creates = structs, interfaces, creates
        self.errors = []
        self.by_name = {}  # struct and interface names share one namespace
        self.containers = {}  # shape -> (ContainerT, loc of first use)
        self.broken = {}  # struct name -> "field: what" of its first unexchangeable field
        self.cyclic = set()  # names of structs that hold themselves by value
        self.depth = {}  # struct name -> levels of structs by value, itself included
        self.why = {}  # struct name -> "S.f.g: what" of an unexchangeable field inside, or None

    def error(self, loc, message):
        self.errors.append(IdlError(loc, message))

    # ---- names ----

    def name_ok(self, name, loc, what):
        if name in C_KEYWORDS:
            self.error(loc, f"'{name}' is a C keyword and cannot name {what}")
            return False
        return True

    def declare_types(self):
        for kind, decls in (("struct", self.structs), ("interface", self.interfaces)):
            for d in decls:
                article = "an interface" if kind == "interface" else "a struct"
                if d.name in BUILTIN:
                    self.error(d.loc, f"'{d.name}' is a built-in type and cannot name {article}")
                    continue
                if not self.name_ok(d.name, d.loc, article):
                    continue
                prev = self.by_name.get(d.name)
                if prev is None:
                    self.by_name[d.name] = (kind, d)
                elif prev[0] == kind:
                    self.error(d.loc, f"duplicate {kind} '{d.name}' (first at {prev[1].loc})")
                else:
                    other = "an interface" if prev[0] == "interface" else "a struct"
                    self.error(d.loc, f"'{d.name}' is already defined as {other} at {prev[1].loc}")

    def unique(self, items, kind, owner):
        seen = {}
        out = []
        for it in items:
            if it.name in seen:
                self.error(it.loc, f"duplicate {kind} '{it.name}' in {owner} "
                           f"(first at {seen[it.name].loc})")
            else:
                article = "an" if kind[0] in "aeiou" else "a"
                self.name_ok(it.name, it.loc, f"{article} {kind}")
                seen[it.name] = it
                out.append(it)
        return out

    # ---- types ----

    def resolve(self, ty, result=False, method=False):
        """The resolved type of a spelled one; raises IdlError if it has none.
        `()` is a type only as the T of a method's Result<T>; `RRef<any>` only
        as a method's parameter or result (method)."""
        if isinstance(ty, Ptr):
            raise NotExchangeable(ty.loc, f"raw pointer '{spelled(ty)}': pointers are not "
                                  "exchangeable; use RRef<T>", "raw pointer")
        if isinstance(ty, FnPtr):
            raise NotExchangeable(ty.loc, "function pointer type: code addresses are not "
                                  "exchangeable", "function pointer")
        if isinstance(ty, Ref):
            if rref_spelling(ty.target):
                raise NotExchangeable(ty.loc, f"a borrowed RRef '{spelled(ty)}' is only a "
                                      "parameter", "reference")
            raise NotExchangeable(ty.loc, f"reference '{spelled(ty)}': only RRefs can be "
                                  "borrowed (borrow RRef<S>)", "reference")
        if isinstance(ty, UnboundedArray):
            raise NotExchangeable(ty.loc, f"unbounded array '{spelled(ty)}': arrays need a "
                                  "fixed length, T[N]", "unbounded array")
        if isinstance(ty, Unit):
            if not result:
                raise IdlError(ty.loc, "'()' is only a method's result type, as Result<()>")
            return UnitT()
        if isinstance(ty, SizedArray):
            if ty.length < 1:
                raise IdlError(ty.loc, "array length must be at least 1")
            elem = self.resolve(ty.elem)
            if is_rref(elem):
                raise IdlError(ty.loc, f"array of RRefs '{spelled(ty)}': use RRefArray<S, N>")
            return ArrayT(elem, ty.length)
        return self.resolve_named(ty, method)

    def resolve_named(self, ty, method=False):
        name, args = ty.name, ty.args
        if name in PRIMS:
            if args:
                raise IdlError(ty.loc, f"'{name}' takes no type arguments")
            return Prim(name)
        if name == "RRef":
            if len(args) != 1 or isinstance(args[0], tuple):
                raise IdlError(ty.loc, "RRef takes one type: RRef<S>")
            if isinstance(args[0], Named) and args[0].name == "any" and not args[0].args:
                # Untyped: the gate moves and lends any RRef alike, so a method
                # word needs no type; a struct field does (its set/take helpers
                # and the type id of its parent name the child's struct).
                if not method:
                    raise IdlError(ty.loc, "RRef<any> is only a method's parameter or result; "
                                   "a field names its struct, RRef<S>")
                return AnyRRefT()
            target = self.resolve(args[0])
            if isinstance(target, StructT):
                return RRefT(target.decl)
            extra = " (a container is already an RRef)" if isinstance(target, ContainerT) else ""
            raise IdlError(ty.loc, f"RRef<T> needs a struct T, not '{target.show()}'{extra}")
        if name in CONTAINERS:
            return self.container(ty)
        if name == "Result":
            raise IdlError(ty.loc, "Result<...> is only a method's result type")
        if name == "any":
            raise IdlError(ty.loc, "'any' is only the type of an untyped RRef, RRef<any>")
        known = self.by_name.get(name)
        if known is None and any(e.name == name for e in self.enums):
            raise IdlError(ty.loc, f"'{name}' is an enum, not a type: pass its values as "
                           "an integer (u32)")
        if known is None:
            raise IdlError(ty.loc, f"unknown type '{name}'")
        kind, decl = known
        if kind == "interface":
            raise IdlError(ty.loc, f"'{name}' is an interface, not a data type")
        if args:
            raise IdlError(ty.loc, f"struct '{name}' takes no type arguments")
        return StructT(decl)

    def container(self, ty):
        name, args = ty.name, ty.args
        if len(args) != 2 or isinstance(args[0], tuple) or not isinstance(args[1], tuple):
            raise IdlError(ty.loc, f"{name} takes an element type and a length: {name}<T, N>")
        length, length_loc = args[1]
        if length < 1:
            raise IdlError(length_loc, "length must be at least 1")
        elem = self.resolve(args[0])
        if name == "RRefVec":
            if not isinstance(elem, (Prim, StructT)):
                raise IdlError(ty.loc, f"RRefVec elements are integers or structs, not "
                               f"'{elem.show()}'")
        elif not isinstance(elem, StructT):
            hint = f"; use RRefVec<{elem.show()}, {length}> for plain values" \
                if isinstance(elem, Prim) else ""
            raise IdlError(ty.loc, f"{name} elements are RRefs to structs, not "
                           f"'{elem.show()}'{hint}")
        c = ContainerT(name, elem, length)
        # Keyed by name, not shape: a struct's shape is known only once every
        # struct is resolved and found acyclic (check_type_ids); the name is
        # as unique, since struct names are.
        c = self.containers.setdefault(c.show(), (c, ty.loc))[0]
        return c

    # ---- structs ----

    def check_structs(self):
        for s in self.structs:
            s.fields = self.unique(s.fields, "field", f"struct {s.name}")
            if not s.fields:
                self.error(s.loc, f"struct '{s.name}' has no fields")
            for f in s.fields:
                try:
                    f.type = self.resolve(f.spelled)
                except NotExchangeable as e:
                    self.errors.append(e)
                    self.broken.setdefault(s.name, f"{f.name}: {e.what}")
                except IdlError as e:
                    self.errors.append(e)
        ok = [s for s in self.structs if self.by_name.get(s.name, (None, None))[1] is s]
        self.report_cycles(ok)
        order = []
        for s in self.postorder(ok):
            self.lay_out(s, order)
        return order

    def held(self, s):
        """(field, struct) for each struct s holds by value, directly or in arrays."""
        for f in s.fields:
            t = f.type
            while isinstance(t, ArrayT):
                t = t.elem
            if isinstance(t, StructT):
                yield f, t.decl

    # The walks over structs below are iterative and visit each struct and
    # field once: a file may chain any number of structs, and a recursive walk
    # would hit Python's recursion limit, a walk over paths take exponential time.

    def report_cycles(self, structs):
        """Structs that hold each other by value are the strongly connected
        components (Tarjan's algorithm) with more than one struct, or one that
        holds itself. One error per component, at its first struct, with a
        shortest path back to it."""
        index, low, stack, on_stack, components, work = {}, {}, [], set(), [], []

        def visit(s):
            index[s.name] = low[s.name] = len(index)
            stack.append(s)
            on_stack.add(s.name)
            work.append((s, self.held(s)))

        for root in structs:
            if root.name in index:
                continue
            visit(root)
            while work:
                s, edges = work[-1]
                for _, inner in edges:
                    if inner.name not in index:
                        visit(inner)
                        break
                    if inner.name in on_stack:
                        low[s.name] = min(low[s.name], index[inner.name])
                else:
                    work.pop()
                    if work:
                        parent = work[-1][0].name
                        low[parent] = min(low[parent], low[s.name])
                    if low[s.name] == index[s.name]:
                        component = []
                        while True:
                            member = stack.pop()
                            on_stack.discard(member.name)
                            component.append(member)
                            if member is s:
                                break
                        components.append(component)
        position = {s.name: n for n, s in enumerate(structs)}
        for component in components:
            names = {s.name for s in component}
            first = min(component, key=lambda s: position[s.name])
            path = self.path_back(first, names)
            if path is None:
                continue  # one struct that does not hold itself
            self.cyclic |= names
            self.error(first.loc, f"struct '{first.name}' contains itself "
                       f"({'.'.join([first.name] + path)})")

    def path_back(self, root, names):
        """The field names of a shortest by-value path from root back to
        itself through the structs `names`, or None if there is none."""
        came = {}  # struct name -> (previous struct name, field name)
        queue, head = [root], 0
        while head < len(queue):
            s = queue[head]
            head += 1
            for f, inner in self.held(s):
                if inner is root:
                    path, name = [f.name], s.name
                    while name != root.name:
                        name, field = came[name]
                        path.append(field)
                    return path[::-1]
                if inner.name in names and inner.name not in came:
                    came[inner.name] = (s.name, f.name)
                    queue.append(inner)
        return None

    def postorder(self, structs):
        """Every struct after the ones it holds by value (cycles cut), in the
        order a depth-first walk from each struct in source order finishes."""
        done, order = set(), []
        for root in structs:
            if root.name in done:
                continue
            done.add(root.name)
            work = [(root, self.held(root))]
            while work:
                s, edges = work[-1]
                for _, inner in edges:
                    if inner.name not in self.cyclic and inner.name not in done:
                        done.add(inner.name)
                        work.append((inner, self.held(inner)))
                        break
                else:
                    work.pop()
                    order.append(s)
        return order

    def lay_out(self, s, order):
        """Layout of s, whose held structs are already laid out or not
        exchangeable (postorder)."""
        inners = [(f, inner) for f, inner in self.held(s) if inner.name not in self.cyclic]
        depth = 1 + max((self.depth[inner.name] for _, inner in inners), default=0)
        self.depth[s.name] = depth
        good = (s.name not in self.broken and s.name not in self.cyclic and bool(s.fields)
                and all(f.type is not None for f in s.fields))
        if depth > MAX_STRUCT_NESTING:
            # Said once, at the struct that crosses the limit; the ones
            # holding it are not exchangeable without a message of their own.
            if depth == MAX_STRUCT_NESTING + 1:
                self.error(s.loc, f"struct '{s.name}' holds structs by value more than "
                           f"{MAX_STRUCT_NESTING} levels deep")
            return
        self.why[s.name] = f"{s.name}.{self.broken[s.name]}" if s.name in self.broken else None
        for f, inner in inners:
            why = self.why.get(inner.name)
            if why and self.why[s.name] is None:
                self.why[s.name] = f"{s.name}.{f.name}.{why.split('.', 1)[1]}"
            if inner.size is None:
                good = False
                if why:
                    self.error(f.loc, f"field '{f.name}': struct {inner.name} is not "
                               f"exchangeable ({why})")
        if not good:
            return
        offset, align = 0, 1
        for f in s.fields:
            offset = align_up(offset, f.type.align)
            f.offset = offset
            offset += f.type.size
            align = max(align, f.type.align)
        s.size, s.align = align_up(offset, align), align
        s.rref_path = self.rref_path(s)
        if s.size > RREF_MAX_SIZE:
            self.error(s.loc, f"struct '{s.name}' is {byte_count(s.size)}; an RRef payload is at "
                       f"most {RREF_MAX_SIZE} bytes")
        order.append(s)

    def rref_path(self, s):
        for f in s.fields:
            t = f.type
            while isinstance(t, ArrayT):
                t = t.elem
            if is_rref(t):
                return f"{s.name}.{f.name}"
            if isinstance(t, StructT) and t.decl.rref_path:
                return f"{s.name}.{f.name}.{t.decl.rref_path.split('.', 1)[1]}"
        return None

    def check_containers(self):
        for c, loc in self.containers.values():
            elem = c.elem
            if isinstance(elem, StructT) and elem.decl.size is None:
                continue  # the struct's own errors say why
            if c.kind == "RRefVec" and isinstance(elem, StructT) and elem.decl.rref_path:
                self.error(loc, f"{c.show()} holds plain data, but {elem.decl.name} has RRefs "
                           f"({elem.decl.rref_path}); use RRefArray<{elem.decl.name}, {c.length}>")
                continue
            size = c.layout()[1]
            if size > RREF_MAX_SIZE:
                self.error(loc, f"'{c.show()}' is {byte_count(size)}; an RRef payload is at most "
                           f"{RREF_MAX_SIZE} bytes")

    # ---- interfaces ----

    def check_interfaces(self):
        for i in self.interfaces:
            if self.by_name.get(i.name, (None, None))[1] is not i:
                continue
            i.methods = self.unique(i.methods, "method", f"interface {i.name}")
            if not i.methods:
                self.error(i.loc, f"interface '{i.name}' has no methods")
            if len(i.methods) > MAX_METHODS:
                m = i.methods[MAX_METHODS]
                self.error(m.loc, f"interface '{i.name}' has {len(i.methods)} methods; a "
                           f"domain exports at most {MAX_METHODS}")
            for index, m in enumerate(i.methods):
                m.index = index
                self.check_method(m)

    def check_method(self, m):
        m.params = self.unique(m.params, "parameter", f"method {m.name}")
        if len(m.params) > MAX_PARAMS:
            self.error(m.params[MAX_PARAMS].loc, f"method '{m.name}' has {len(m.params)} "
                       f"parameters; the gate passes at most {MAX_PARAMS}")
        for p in m.params:
            if p.name in PROXY_NAMES:
                self.error(p.loc, f"parameter '{p.name}' would clash with the proxy's own "
                           f"'{p.name}'; the proxy uses {', '.join(PROXY_NAMES)}")
                continue
            try:
                self.check_param(p)
            except IdlError as e:
                self.errors.append(e)
        try:
            self.check_result(m)
        except IdlError as e:
            self.errors.append(e)
        for p in m.params:
            if m.replay and p.transfer:
                self.error(p.loc, f"@replay method '{m.name}' takes RRef parameter '{p.name}': "
                           "a shadow cannot replay it after a restart")
            if m.idempotent and p.transfer == "move":
                self.error(p.loc, f"@idempotent method '{m.name}' moves RRef parameter "
                           f"'{p.name}': a shadow cannot retry it after a crash")
        if m.resets and not m.replay:
            self.error(next(a.loc for a in m.annots if a.name == "resets"),
                       f"@resets method '{m.name}' is not @replay: only a recorded call can "
                       "restart the record")
        if m.replay and m.result is not None and is_rref(m.result):
            self.error(m.spelled_result.loc, f"@replay method '{m.name}' returns an RRef: a "
                       "shadow cannot replay it after a restart")

    def check_param(self, p):
        ty, mode = p.spelled, p.mode
        amp = isinstance(ty, Ref) and rref_spelling(ty.target)
        if amp:
            if mode:
                raise IdlError(mode[1], f"'{mode[0]}' and '&' both given for '{p.name}'; "
                               "write one of them")
            ty = ty.target
        t = self.resolve(ty, method=True)
        if is_rref(t):
            if amp:
                p.transfer = "borrow"
            elif not mode:
                raise IdlError(p.loc, f"RRef parameter '{p.name}' needs 'move' or 'borrow'")
            else:
                p.transfer = mode[0]
        elif mode:
            raise IdlError(mode[1], f"'{mode[0]}' needs an RRef parameter; '{p.name}' is "
                           f"{t.show()}")
        elif isinstance(t, StructT):
            raise IdlError(p.loc, f"parameter '{p.name}': struct {t.decl.name} cannot be passed "
                           f"by value; pass 'move RRef<{t.decl.name}>' or "
                           f"'borrow RRef<{t.decl.name}>'")
        elif isinstance(t, ArrayT):
            raise IdlError(p.loc, f"parameter '{p.name}': an array cannot be passed by value; "
                           "put it in a struct behind an RRef")
        p.type = t

    def check_result(self, m):
        r = m.spelled_result
        if not (isinstance(r, Named) and r.name == "Result"):
            returns = f"returns '{spelled(r)}'" if r is not None else "has no result"
            raise IdlError(r.loc if r is not None else m.loc,
                           f"method '{m.name}' {returns}: results are Result<T>, since a "
                           "cross-domain call can always fail")
        if len(r.args) != 1 or isinstance(r.args[0], tuple):
            raise IdlError(r.loc, "Result takes one type: Result<T>")
        t = self.resolve(r.args[0], result=True, method=True)
        if isinstance(t, StructT):
            raise IdlError(r.loc, f"Result<{t.decl.name}>: a struct cannot be returned by "
                           f"value; return Result<RRef<{t.decl.name}>>")
        if isinstance(t, ArrayT):
            raise IdlError(r.loc, f"Result<{t.show()}>: an array cannot be returned; return "
                           "an RRef to a struct holding it")
        m.result = t

    # ---- create functions ----

    def check_creates(self):
        seen = {}
        out = []
        for c in self.creates:
            if c.name in seen:
                self.error(c.loc, f"duplicate create function '{c.name}' (first at "
                           f"{seen[c.name].loc})")
                continue
            seen[c.name] = c
            if len(c.name) > NAME_MAX:
                self.error(c.loc, f"domain name '{c.name}' is longer than {NAME_MAX} characters")
            known = self.by_name.get(c.iface)
            if known is None:
                self.error(c.iface_loc, f"unknown interface '{c.iface}'")
            elif known[0] != "interface":
                self.error(c.iface_loc, f"'{c.iface}' is a struct, not an interface")
            else:
                c.interface = known[1]
                out.append(c)
        return out

    # ---- what the generators will emit ----

    # ---- enums ----

    def check_enums(self):
        """Unique names; values are positions, so reordering members renumbers
        the C and Python alike."""
        out, seen = [], {}
        for e in self.enums:
            if e.name in seen:
                self.error(e.loc, f"duplicate enum '{e.name}' (first at {seen[e.name].loc})")
                continue
            seen[e.name] = e
            if not self.name_ok(e.name, e.loc, "an enum"):
                continue
            if not e.members:
                self.error(e.loc, f"enum '{e.name}' has no members")
                continue
            e.members = self.unique(e.members, "enum member", f"enum {e.name}")
            for n, m in enumerate(e.members):
                m.value = n
            out.append(e)
        return out

    def check_generated_names(self, order, interfaces, creates, enums):
        """Two declarations must not generate the same C identifier."""
        owner = {}

        def claim(name, what, loc):
            prev = owner.get(name)
            if prev is None:
                owner[name] = what
            elif prev != what:
                self.error(loc, f"'{name}' would be generated for both {prev} and {what}")

        for s in order:
            what = f"struct {s.name}"
            for n in (s.name, f"{s.name}_TYPE", f"{s.name}_alloc", f"{s.name}_ptr",
                      f"{s.name}_free"):
                claim(n, what, s.loc)
            for f in s.fields:
                if is_rref(f.type):
                    claim(f"{s.name}_set_{f.name}", what, f.loc)
                    claim(f"{s.name}_take_{f.name}", what, f.loc)
        for c, loc in self.containers.values():
            what = c.show()
            for suffix in ("", "_TYPE", "_CAP", "_alloc", "_ptr", "_free", "_len", "_get",
                           "_set", "_take", "_push", "_pop"):
                claim(c.c_name + suffix, what, loc)
        for i in interfaces:
            what = f"interface {i.name}"
            for suffix in ("_ref", "_impl", "_export", "_bind", "_METHODS", "_active",
                           "_shadow", "_shadow_call", "_shadow_state", "_shadow_crashed", "_shadow_restart_locked",
                           "_shadow_forward", "_shadow_start", "_shadow_stats",
                           "_shadow_get_stats", "_SHADOW_LOG_MAX", "_SHADOW_RETRIES",
                           "_SHADOW_RESTARTS"):
                claim(i.name + suffix, what, i.loc)
            for m in i.methods:
                for name in (f"{i.name}_{m.name}", f"{i.name}_{m.name}_METHOD",
                             f"{i.name}_{m.name}_WORD", f"{i.name}_{m.name}_entry",
                             f"{i.name}_shadow_entry_{m.name}"):
                    claim(name, f"{what} method {m.name}", m.loc)
        for c in creates:
            claim(f"create_{c.name}", f"create {c.name}", c.loc)
        for e in enums:
            what = f"enum {e.name}"
            claim(e.name, what, e.loc)  # C's enum and struct tags share a namespace
            claim(f"{e.name}_COUNT", what, e.loc)
            for m in e.members:
                claim(m.name, f"{what} member {m.name}", m.loc)

    def check_type_ids(self, order):
        """Distinct ids, from shapes of at most MAX_SHAPE_BYTES in all. `order`
        has held structs first, so each shape is built from the cached
        shapes of those it holds, and the budget is checked field by field
        before anything larger is built."""
        total = 0

        def spend(nbytes, what, loc):
            nonlocal total
            total += nbytes
            if total > MAX_SHAPE_BYTES:
                raise IdlError(loc, f"{what}: the type ids of this file would hash more than "
                               f"{MAX_SHAPE_BYTES} bytes of shapes (a struct's shape holds the "
                               "shapes of the structs it holds by value)")

        types = []
        for s in order:
            shape = struct_shape(s, lambda n, s=s: spend(n, f"struct '{s.name}'", s.loc))
            types.append((shape, f"struct {s.name}", s.loc))
        for c, loc in self.containers.values():
            shape = c.shape()
            spend(len(shape), f"'{c.show()}'", loc)
            types.append((shape, c.show(), loc))
        ids = {}
        for shape, what, loc in types:
            tid = type_id(shape)
            if tid in ids:
                self.error(loc, f"type id 0x{tid:08x} of {what} is also the id of {ids[tid]}")
            ids.setdefault(tid, what)

    def run(self, stem):
        self.declare_types()
        order = self.check_structs()
        self.check_containers()
        self.check_interfaces()
        creates = self.check_creates()
        enums = self.check_enums()
        interfaces = [i for i in self.interfaces if self.by_name.get(i.name, (0, 0))[1] is i]
        if self.errors:
            raise IdlErrors(self.errors)
        self.check_generated_names(order, interfaces, creates, enums)
        try:
            self.check_type_ids(order)
        except IdlError as e:
            self.errors.append(e)
        if self.errors:
            raise IdlErrors(self.errors)
        containers = [c for c, _ in self.containers.values()]
        return Module(self.path, stem, self.docs, order, containers, interfaces, creates, enums)


def byte_count(n):
    """A size for a message. Arrays of arrays of structs of arrays multiply
    lengths of up to 2**32 into integers of tens of thousands of digits, which
    str() refuses (int_max_str_digits): past 2**64, the power of two below."""
    if n < 2 ** 64:
        return f"{n} bytes"
    return f"more than 2**{n.bit_length() - 1} bytes"


def rref_spelling(ty):
    return isinstance(ty, Named) and (ty.name == "RRef" or ty.name in CONTAINERS)


STEM = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def check_text(path, text, stem):
    """Parse and check one file's text; raises IdlError or IdlErrors."""
    if not STEM.match(stem):
        # The stem names the outputs (stem.h, stem_methods.h, stem.py), their
        # include guards (IDL_STEM_H) and the Python module ci imports; it is
        # refused rather than mangled, so two files never share a guard.
        raise IdlError(Loc(path, 1, 1), f"file name '{stem}' is not an identifier "
                       "([A-Za-z_][A-Za-z0-9_]*): it names the generated files, their include "
                       "guards and the Python module")
    docs, structs, interfaces, creates, enums = parse(path, text)
    return Checker(path, docs, structs, interfaces, creates, enums).run(stem)


def decode(path, data):
    """The text of a file's bytes, which must be UTF-8 (docs/idl.md, Lexical)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line_start = data.rfind(b"\n", 0, e.start) + 1
        line = data.count(b"\n", 0, e.start) + 1
        col = len(data[line_start:e.start].decode("utf-8")) + 1
        raise IdlError(Loc(path, line, col), f"invalid UTF-8 (byte 0x{data[e.start]:02x}); "
                       ".idl files are UTF-8") from None


def load(path, display=None):
    """Check the .idl file at path; messages name it as display (default: path)."""
    shown = display or path
    with open(path, "rb") as f:
        data = f.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        # Read no further: /dev/zero would otherwise fill memory.
        raise IdlError(Loc(shown, 1, 1), f"file is larger than {MAX_FILE_BYTES} bytes; an .idl "
                       "file is at most that")
    stem = os.path.splitext(os.path.basename(path))[0]
    return check_text(shown, decode(shown, data), stem)
