"""What an .idl file means: declarations, types, C layout and type ids.

The parser (syntax.py) builds the declarations with *spelled* types, exactly
as written; the checker (check.py) resolves each to one of the resolved
types below or reports why it cannot. Resolved types know their C layout
(x86-64 System V: natural alignment) and their shape, the canonical text a
type id hashes (docs/idl.md, "Type ids").
"""
RREF_MAX_SIZE = 2 * 1024 * 1024  # maple/rref_abi.h RREF_MAX_SIZE: the largest payload
PRIMS = {  # name: (size, C type); bool is a byte in shared memory (see docs/idl.md)
    "u8": (1, "uint8_t"), "u16": (2, "uint16_t"), "u32": (4, "uint32_t"), "u64": (8, "uint64_t"),
    "i8": (1, "int8_t"), "i16": (2, "int16_t"), "i32": (4, "int32_t"), "i64": (8, "int64_t"),
    "bool": (1, "uint8_t"),
}
CONTAINERS = {"RRefArray": "array", "RRefDeque": "deque", "RRefVec": "vec"}


class Loc:
    __slots__ = ("file", "line", "col")

    def __init__(self, file, line, col):
        self.file, self.line, self.col = file, line, col

    def __str__(self):
        return f"{self.file}:{self.line}:{self.col}"

    def key(self):
        return (self.file, self.line, self.col)


class IdlError(Exception):
    """One diagnostic: `file:line:col: error: message`."""

    def __init__(self, loc, message):
        super().__init__(f"{loc}: error: {message}")
        self.loc, self.message = loc, message


class IdlErrors(Exception):
    """Every diagnostic of one file, in source order."""

    def __init__(self, errors):
        self.errors = sorted(errors, key=lambda e: e.loc.key())
        super().__init__("\n".join(str(e) for e in self.errors))


# ---- spelled types (the parser's) ----

class Named:
    def __init__(self, name, loc, args):
        self.name, self.loc, self.args = name, loc, args  # args: types or (number, loc)


class Ptr:
    def __init__(self, target, loc, prefix=False):
        self.target, self.loc, self.prefix = target, loc, prefix


class FnPtr:
    def __init__(self, loc):
        self.loc = loc


class Ref:
    def __init__(self, target, loc):
        self.target, self.loc = target, loc


class SizedArray:
    def __init__(self, elem, length, loc):
        self.elem, self.length, self.loc = elem, length, loc


class UnboundedArray:
    def __init__(self, elem, loc):
        self.elem, self.loc = elem, loc


class Unit:
    def __init__(self, loc):
        self.loc = loc


def spelled(ty):
    """A spelled type as the messages show it."""
    if isinstance(ty, tuple):
        return str(ty[0])
    if isinstance(ty, Named):
        return ty.name + (f"<{', '.join(spelled(a) for a in ty.args)}>" if ty.args else "")
    if isinstance(ty, Ptr):
        return f"{spelled(ty.target)} *"
    if isinstance(ty, FnPtr):
        return "fn(...)"
    if isinstance(ty, Ref):
        return f"&{spelled(ty.target)}"
    if isinstance(ty, SizedArray):
        return f"{spelled(ty.elem)}[{ty.length}]"
    if isinstance(ty, UnboundedArray):
        return f"{spelled(ty.elem)}[]"
    return "()"


# ---- declarations ----

class Annot:
    def __init__(self, name, loc):
        self.name, self.loc = name, loc


class Field:
    def __init__(self, name, loc, spelled_type, docs):
        self.name, self.loc, self.spelled, self.docs = name, loc, spelled_type, docs
        self.type = None  # resolved by check.py
        self.offset = None


class Struct:
    def __init__(self, name, loc, fields, docs):
        self.name, self.loc, self.fields, self.docs = name, loc, fields, docs
        self.size = self.align = None  # set by check.py when exchangeable
        self.rref_path = None  # "S.f" of an RRef inside, or None: plain data
        self.shape_text = None  # set by struct_shape()


class Param:
    def __init__(self, name, loc, spelled_type, mode):
        self.name, self.loc, self.spelled, self.mode = name, loc, spelled_type, mode
        self.type = None
        self.transfer = None  # "move", "borrow" or None (a plain value)


class Method:
    def __init__(self, name, loc, params, result, annots, docs):
        self.name, self.loc, self.params, self.spelled_result = name, loc, params, result
        self.annots, self.docs = annots, docs
        self.result = None  # resolved T of Result<T>
        self.index = None

    def has(self, annot):
        return any(a.name == annot for a in self.annots)

    @property
    def replay(self):
        return self.has("replay")

    @property
    def idempotent(self):
        return self.has("idempotent")

    @property
    def resets(self):
        return self.has("resets")


class Interface:
    def __init__(self, name, loc, methods, docs):
        self.name, self.loc, self.methods, self.docs = name, loc, methods, docs


class Enum:
    """Named numbers for C and Python alike (a method's arguments, counters):
    members numbered from 0 in declaration order, like methods."""
    def __init__(self, name, loc, members, docs):
        self.name, self.loc, self.members, self.docs = name, loc, members, docs


class EnumMember:
    def __init__(self, name, loc, docs):
        self.name, self.loc, self.docs = name, loc, docs
        self.value = None  # set by the checker


class Create:
    def __init__(self, name, loc, iface, iface_loc, docs):
        self.name, self.loc, self.iface, self.iface_loc, self.docs = name, loc, iface, iface_loc, docs


# ---- resolved types ----

class Prim:
    def __init__(self, name):
        self.name = name
        self.size = self.align = PRIMS[name][0]
        self.c = PRIMS[name][1]

    def shape(self):
        return self.name

    def show(self):
        return self.name


class StructT:
    """A struct by value (a field or a plain element)."""

    def __init__(self, decl):
        self.decl = decl

    @property
    def size(self):
        return self.decl.size

    @property
    def align(self):
        return self.decl.align

    @property
    def c(self):
        return f"struct {self.decl.name}"

    def shape(self):
        return struct_shape(self.decl)

    def show(self):
        return self.decl.name


class ArrayT:
    def __init__(self, elem, length):
        self.elem, self.length = elem, length

    @property
    def size(self):
        return self.elem.size * self.length

    @property
    def align(self):
        return self.elem.align

    def shape(self):
        return f"{self.elem.shape()}[{self.length}]"

    def show(self):
        return f"{self.elem.show()}[{self.length}]"


class RRefT:
    """RRef<S>: a handle; in a struct, a child nested in its parent."""
    size = align = 8
    c = "rref_t"

    def __init__(self, decl):
        self.decl = decl

    def shape(self):
        # The target by name only: its own id is checked where it is used,
        # and RRefs may form cycles (a list of nodes).
        return f"RRef<{self.decl.name}>"

    def show(self):
        return f"RRef<{self.decl.name}>"


class AnyRRefT:
    """RRef<any>: a handle to an RRef of any payload, as a method's parameter or
    result only. It has no type id: the method word carries its transfer bits
    (move, borrow, result) and the gate checks ownership, never payload types."""
    size = align = 8
    c = "rref_t"

    def shape(self):
        return "RRef<any>"

    def show(self):
        return "RRef<any>"


class ContainerT:
    """RRefArray/RRefDeque/RRefVec<T, N>: a handle to a generated payload."""
    size = align = 8
    c = "rref_t"

    def __init__(self, kind, elem, length):
        self.kind, self.elem, self.length = kind, elem, length

    @property
    def c_name(self):
        return f"{self.elem.show()}_{CONTAINERS[self.kind]}{self.length}"

    def shape(self):
        # Array and deque slots are handles (element by name); a vec holds its
        # elements inline, so their whole layout is part of its shape.
        elem = self.elem.shape() if self.kind == "RRefVec" else self.elem.show()
        return f"{self.kind}<{elem},{self.length}>"

    def show(self):
        return f"{self.kind}<{self.elem.show()}, {self.length}>"

    def fields(self):
        """The payload as (C type, name, count or None, size, align)."""
        rref = ("rref_t", 8, 8)
        if self.kind == "RRefArray":
            return [(rref, "slots", self.length)]
        if self.kind == "RRefDeque":
            u32 = ("uint32_t", 4, 4)
            return [(u32, "head", None), (u32, "len", None), (rref, "slots", self.length)]
        elem_c = self.elem.c
        return [(("uint32_t", 4, 4), "len", None),
                ((elem_c, self.elem.size, self.elem.align), "items", self.length)]

    def layout(self):
        """[(name, offset)], size, align of the payload struct."""
        offset, align, out = 0, 1, []
        for (_, size, al), name, count in self.fields():
            offset = align_up(offset, al)
            out.append((name, offset))
            offset += size * (count or 1)
            align = max(align, al)
        return out, align_up(offset, align), align


class UnitT:
    size = align = 0

    def shape(self):
        return "()"

    def show(self):
        return "()"


def is_rref(ty):
    return isinstance(ty, (RRefT, AnyRRefT, ContainerT))


def align_up(n, a):
    return (n + a - 1) // a * a


def struct_shape(decl, spend=None):
    """The struct's shape, built once and kept: a shape holds the shapes of the
    structs held by value, so building it afresh would walk (and recurse
    through) every struct below. spend(n), if given, is told each field's
    length before the next is built, and may raise to stop a shape too big."""
    if decl.shape_text is None:
        parts = []
        for f in decl.fields:
            parts.append(f"{f.type.shape()} {f.name};")
            if spend:
                spend(len(parts[-1]))
        decl.shape_text = f"struct {decl.name}{{{''.join(parts)}}}"
    return decl.shape_text


def fnv1a32(text):
    """FNV-1a, 32 bits, over the UTF-8 bytes (docs/idl.md, "Type ids")."""
    h = 0x811c9dc5
    for b in text.encode():
        h = ((h ^ b) * 0x01000193) & 0xffffffff
    return h


def type_id(shape):
    return fnv1a32(shape) or 1  # 0 is never a type id
