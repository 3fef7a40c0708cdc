"""The IDL's lexer and parser: source text to the declarations of model.py.

The parser knows the grammar (docs/idl.md) and nothing about meaning: it
accepts any type expression the grammar can spell, including ones the
checker rejects (`u8 *`, `&T`, `T[]`, `fn(...)`), so that those errors name
the construct instead of a token. Annotations are collected wherever a
declaration may start and judged here, since only the parser knows what
they are attached to. Comments on their own lines right above a declaration,
or at the end of its last line, become its doc text.
"""
import re

from idl.model import (Annot, Create, Enum, EnumMember, Field, FnPtr, IdlError, Interface, Loc, Method, Named,
                       Param, Ptr, Ref, SizedArray, Struct, Unit, UnboundedArray)

ANNOTATIONS = ("replay", "idempotent")
KEYWORDS = {"struct", "interface", "enum", "create", "fn", "move", "borrow"}
PUNCT = ["->", "{", "}", "(", ")", "<", ">", "[", "]", ",", ";", "*", "&", "@"]
NUMBER_MAX = 0xffffffff

TOKEN = re.compile(r"""
    (?P<space>[ \t\r]+)
  | (?P<newline>\n)
  | (?P<comment>//[^\n]*)
  | (?P<number>0[xX][0-9a-fA-F]+|[0-9]+)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>->|[{}()<>\[\],;*&@])
""", re.VERBOSE)


class Token:
    __slots__ = ("kind", "text", "loc", "value")

    def __init__(self, kind, text, loc, value=None):
        self.kind, self.text, self.loc, self.value = kind, text, loc, value

    def describe(self):
        if self.kind == "eof":
            return "end of file"
        if self.kind == "number":
            return f"number {self.text}"
        if self.kind == "keyword":
            return f"keyword '{self.text}'"
        if self.kind == "ident":
            return f"identifier '{self.text}'"
        return f"'{self.text}'"


class Comment:
    __slots__ = ("line", "text", "own_line")

    def __init__(self, line, text, own_line):
        self.line, self.text, self.own_line = line, text, own_line


def lex(path, text):
    """Return (tokens ending with an eof token, comments)."""
    tokens, comments = [], []
    line, line_start, pos = 1, 0, 0
    line_has_token = False
    while pos < len(text):
        m = TOKEN.match(text, pos)
        col = pos - line_start + 1
        if not m:
            ch = text[pos]
            shown = ch if ch.isprintable() else repr(ch)[1:-1]
            raise IdlError(Loc(path, line, col), f"unexpected character '{shown}'")
        kind = m.lastgroup
        word = m.group(kind)
        if kind == "newline":
            line, line_start, line_has_token = line + 1, m.end(), False
        elif kind == "comment":
            comments.append(Comment(line, word[2:].strip(), not line_has_token))
        elif kind != "space":
            loc = Loc(path, line, col)
            if kind == "number":
                value = int(word, 16) if word[:2].lower() == "0x" else int(word, 10)
                if value > NUMBER_MAX:
                    raise IdlError(loc, f"number {word} is out of range (at most {NUMBER_MAX})")
                tokens.append(Token("number", word, loc, value))
            elif kind == "ident":
                tokens.append(Token("keyword" if word in KEYWORDS else "ident", word, loc))
            else:
                tokens.append(Token("punct", word, loc))
            line_has_token = True
        pos = m.end()
    tokens.append(Token("eof", "", Loc(path, line, pos - line_start + 1)))
    return tokens, comments


class Parser:
    def __init__(self, path, text):
        self.path = path
        self.tokens, self.comments = lex(path, text)
        self.pos = 0

    # ---- tokens ----

    def peek(self, ahead=0):
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def next(self):
        tok = self.peek()
        self.pos += 1
        return tok

    def at(self, text):
        tok = self.peek()
        return tok.kind in ("punct", "keyword") and tok.text == text

    def accept(self, text):
        if self.at(text):
            return self.next()
        return None

    def expect(self, text, what=None):
        if self.at(text):
            return self.next()
        self.fail(what or f"'{text}'")

    def fail(self, expected):
        tok = self.peek()
        raise IdlError(tok.loc, f"expected {expected}, found {tok.describe()}")

    def ident(self, what="identifier"):
        tok = self.peek()
        if tok.kind != "ident":
            self.fail(what)
        return self.next()

    def number(self):
        tok = self.peek()
        if tok.kind != "number":
            self.fail("number")
        return self.next()

    # ---- doc comments ----

    def docs(self, first_line, last_line):
        """Own-line comments right above first_line, then one trailing last_line."""
        above, line = [], first_line - 1
        by_line = {c.line: c for c in self.comments}
        while line in by_line and by_line[line].own_line:
            above.insert(0, by_line[line].text)
            line -= 1
        trail = by_line.get(last_line)
        if trail is not None and not trail.own_line:
            above.append(trail.text)
        return [t for t in above if t]

    def last_line(self):
        return self.tokens[self.pos - 1].loc.line

    # ---- annotations ----

    def annotations(self):
        found = []
        while self.at("@"):
            at = self.next()
            name = self.ident("annotation name")
            if name.text not in ANNOTATIONS:
                known = ", ".join("@" + a for a in ANNOTATIONS)
                raise IdlError(at.loc, f"unknown annotation '@{name.text}' (known: {known})")
            if any(a.name == name.text for a in found):
                raise IdlError(at.loc, f"duplicate annotation '@{name.text}'")
            found.append(Annot(name.text, at.loc))
        return found

    @staticmethod
    def refuse_annotations(annots, target):
        if annots:
            a = annots[0]
            raise IdlError(a.loc, f"@{a.name} applies to interface methods, not to {target}")

    # ---- declarations ----

    def file_docs(self):
        """The file's first comment block, unless it documents the first declaration."""
        block = []
        for c in self.comments:
            if not c.own_line or (block and c.line != block[-1].line + 1):
                break
            block.append(c)
        first = self.tokens[0].loc.line
        if not block or block[0].line > first or block[-1].line + 1 == first:
            return []
        return [c.text for c in block]

    def parse(self):
        structs, interfaces, creates, enums = [], [], [], []
        while self.peek().kind != "eof":
            annots = self.annotations()
            if self.at("struct"):
                self.refuse_annotations(annots, "a struct")
                structs.append(self.struct())
            elif self.at("interface"):
                self.refuse_annotations(annots, "an interface")
                interfaces.append(self.interface())
            elif self.at("enum"):
                self.refuse_annotations(annots, "an enum")
                enums.append(self.enum())
            elif self.at("create"):
                self.refuse_annotations(annots, "a create function")
                creates.append(self.create())
            elif self.at("fn") and annots:
                raise IdlError(annots[0].loc,
                               f"@{annots[0].name} applies to interface methods, "
                               "not to a function outside an interface")
            else:
                self.fail("'struct', 'interface', 'enum' or 'create'")
        return self.file_docs(), structs, interfaces, creates, enums

    def struct(self):
        kw = self.expect("struct")
        name = self.ident("struct name")
        self.expect("{")
        fields = []
        while not self.at("}"):
            if self.peek().kind == "eof":
                self.fail("'}'")
            annots = self.annotations()
            self.refuse_annotations(annots, "a field")
            fields.append(self.field())
        self.expect("}")
        self.accept(";")
        return Struct(name.text, name.loc, fields, self.docs(kw.loc.line, kw.loc.line))

    def field(self):
        first = self.peek()
        ty = self.type()
        name = self.ident("field name")
        ty = self.name_suffix(ty)
        self.expect(";")
        return Field(name.text, name.loc, ty, self.docs(first.loc.line, self.last_line()))

    def name_suffix(self, ty):
        """C-style dimensions after a name: `u8 data[2][4]` is 2 arrays of 4."""
        dims = []
        while self.at("["):
            dims.append(self.dimension())
        for loc, length in reversed(dims):
            ty = SizedArray(ty, length, loc) if length is not None else UnboundedArray(ty, loc)
        return ty

    def dimension(self):
        lb = self.expect("[")
        length = None
        if not self.at("]"):
            length = self.number().value
        self.expect("]", "']'" if length is not None else "number or ']'")
        return lb.loc, length

    def enum(self):
        kw = self.expect("enum")
        name = self.ident("enum name")
        self.expect("{")
        members = []
        while not self.at("}"):
            first = self.ident("enum member name")
            if not self.accept(","):
                members.append(EnumMember(first.text, first.loc,
                                          self.docs(first.loc.line, self.last_line())))
                break
            members.append(EnumMember(first.text, first.loc,
                                      self.docs(first.loc.line, self.last_line())))
        self.expect("}", "',' or '}'" if members else "'}'")
        self.accept(";")
        return Enum(name.text, name.loc, members, self.docs(kw.loc.line, kw.loc.line))

    def interface(self):
        kw = self.expect("interface")
        name = self.ident("interface name")
        self.expect("{")
        methods = []
        while not self.at("}"):
            if self.peek().kind == "eof":
                self.fail("'}'")
            annots = self.annotations()
            if not self.at("fn"):
                self.fail("'fn'")
            methods.append(self.method(annots))
        self.expect("}")
        self.accept(";")
        return Interface(name.text, name.loc, methods, self.docs(kw.loc.line, kw.loc.line))

    def method(self, annots):
        kw = self.expect("fn")
        first_line = annots[0].loc.line if annots else kw.loc.line
        name = self.ident("method name")
        self.expect("(")
        params = []
        if not self.at(")"):
            params.append(self.param())
            while self.accept(","):
                params.append(self.param())
        self.expect(")", "',' or ')'")
        result = None
        if self.accept("->"):
            result = self.type(in_result=True)
        self.expect(";", "'->' or ';'" if result is None else "';'")
        return Method(name.text, name.loc, params, result, annots,
                      self.docs(first_line, self.last_line()))

    def param(self):
        annots = self.annotations()
        self.refuse_annotations(annots, "a parameter")
        mode = None
        if self.at("move") or self.at("borrow"):
            tok = self.next()
            mode = (tok.text, tok.loc)
        ty = self.type()
        name = self.ident("parameter name")
        ty = self.name_suffix(ty)
        return Param(name.text, name.loc, ty, mode)

    def create(self):
        kw = self.expect("create")
        self.accept("fn")
        name = self.ident("domain image name")
        self.expect("(")
        self.expect(")", "')' (create functions take no parameters)")
        self.expect("->")
        iface = self.ident("interface name")
        self.expect(";")
        return Create(name.text, name.loc, iface.text, iface.loc,
                      self.docs(kw.loc.line, self.last_line()))

    # ---- types ----

    def type(self, in_result=False):
        """A type expression, with its postfix `*` and `[N]` (any number)."""
        tok = self.peek()
        if self.accept("&"):
            ty = Ref(self.type(in_result), tok.loc)
        elif self.at("*"):
            # Rust spelling: `*const T`, `*mut T`.
            self.next()
            if self.peek().kind == "ident" and self.peek().text in ("const", "mut"):
                self.next()
            ty = Ptr(self.type(in_result), tok.loc, prefix=True)
        elif self.at("fn"):
            self.next()
            self.skip_parens()
            if self.accept("->"):
                self.type(in_result)
            ty = FnPtr(tok.loc)
        elif in_result and self.at("("):
            self.next()
            self.expect(")", "')' (the empty result is '()')")
            ty = Unit(tok.loc)
        elif tok.kind == "ident":
            self.next()
            args = []
            if self.accept("<"):
                args.append(self.type_arg(in_result))
                while self.accept(","):
                    args.append(self.type_arg(in_result))
                self.expect(">", "',' or '>'")
            ty = Named(tok.text, tok.loc, args)
        else:
            self.fail("type")
        while self.at("*") or self.at("["):
            if self.at("*"):
                ty = Ptr(ty, self.next().loc)
            else:
                loc, length = self.dimension()
                ty = SizedArray(ty, length, loc) if length is not None else UnboundedArray(ty, loc)
        return ty

    def type_arg(self, in_result):
        if self.peek().kind == "number":
            tok = self.next()
            return (tok.value, tok.loc)
        return self.type(in_result=True)

    def skip_parens(self):
        self.expect("(")
        depth = 1
        while depth:
            tok = self.next()
            if tok.kind == "eof":
                raise IdlError(tok.loc, "expected ')', found end of file")
            if tok.kind == "punct" and tok.text == "(":
                depth += 1
            elif tok.kind == "punct" and tok.text == ")":
                depth -= 1


def parse(path, text):
    """Parse one .idl file: (file docs, structs, interfaces, creates) in source order."""
    return Parser(path, text).parse()
