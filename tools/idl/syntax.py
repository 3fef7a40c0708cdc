"""The IDL's lexer and parser: source text to the declarations of model.py.

The parser knows the grammar (docs/idl.md) and nothing about meaning: it
accepts any type expression the grammar can spell, including ones the
checker rejects (`u8 *`, `&T`, `T[]`, `fn(...)`), so that those errors name
the construct instead of a token. Annotations are collected wherever a
declaration may start and judged here, since only the parser knows what
they are attached to. Comments on their own lines right above a declaration
that starts its line, or at the end of a declaration's last line when nothing
follows it there, become its doc text.

Every input gets a located error or a parse, never a Python exception: type
expressions nest at most MAX_TYPE_NESTING levels (the parser and the checker
recurse once per level), and the work is linear in the input (each token is
looked at a bounded number of times; each comment block is walked once).
"""
import re

from idl.model import (Annot, Create, Enum, EnumMember, Field, FnPtr, IdlError, Interface, Loc, Method, Named,
                       Param, Ptr, Ref, SizedArray, Struct, Unit, UnboundedArray)

ANNOTATIONS = ("replay", "idempotent", "resets")
KEYWORDS = {"struct", "interface", "enum", "create", "fn", "move", "borrow"}
NUMBER_MAX = 0xffffffff
# Levels of one type expression: each RRef<...> (any <...>), &, *, [N] and []
# is one. The real files use at most 3; 64 keeps every recursive walk of a
# type (parser, checker, messages) far below Python's recursion limit.
MAX_TYPE_NESTING = 64

# One token after optional blanks, matched within one line. `bad` is any other
# character; a line's trailing blanks match with no group at all.
TOKEN = re.compile(r"""
    [ \t\r]*
    (?:
        (?P<comment>//.*)
      | (?P<number>0[xX][0-9a-fA-F]+|[0-9]+)
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<punct>->|[{}()<>\[\],;*&@])
      | (?P<bad>.)
    )?
""", re.VERBOSE | re.DOTALL)


class Token:
    """One token; its Loc is made only when asked for (most never are)."""
    __slots__ = ("kind", "text", "file", "line", "col", "value", "first", "last")

    def __init__(self, kind, text, file, line, col, value, first):
        self.kind, self.text, self.value = kind, text, value
        self.file, self.line, self.col = file, line, col
        self.first = first  # the first token of its line
        self.last = False  # the last token of its line (set once all are lexed)

    @property
    def loc(self):
        return Loc(self.file, self.line, self.col)

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


def number_value(word, loc):
    """The value of a number token, refused above NUMBER_MAX before it is
    converted: int() of thousands of decimal digits raises (Python's
    int_max_str_digits) or takes quadratic time."""
    hexa = word[:2].lower() == "0x"
    digits = (word[2:] if hexa else word).lstrip("0")
    if len(digits) > (8 if hexa else 10) or int(digits or "0", 16 if hexa else 10) > NUMBER_MAX:
        shown = word if len(word) <= 24 else word[:20] + "..."
        raise IdlError(loc, f"number {shown} is out of range (at most {NUMBER_MAX})")
    return int(digits or "0", 16 if hexa else 10)


def lex(path, text):
    """Return (tokens ending with an eof token, comments).

    Line by line, one regular-expression match per token: linear in the
    text, with no per-character Python work."""
    tokens, comments = [], []
    append = tokens.append
    line = 0
    for line_text in text.split("\n"):
        line += 1
        first = True
        for m in TOKEN.finditer(line_text):
            kind = m.lastgroup
            if kind is None:
                continue  # trailing blanks
            word = m.group(kind)
            col = m.start(kind) + 1
            if kind == "ident":
                append(Token("keyword" if word in KEYWORDS else "ident", word, path, line, col,
                             None, first))
            elif kind == "punct":
                append(Token("punct", word, path, line, col, None, first))
            elif kind == "comment":
                comments.append(Comment(line, word[2:].strip(), first))
                continue
            elif kind == "number":
                value = number_value(word, Loc(path, line, col))
                append(Token("number", word, path, line, col, value, first))
            else:
                shown = word if word.isprintable() else repr(word)[1:-1]
                raise IdlError(Loc(path, line, col), f"unexpected character '{shown}'")
            first = False
    tokens.append(Token("eof", "", path, line, len(line_text) + 1, None, False))
    for tok, after in zip(tokens, tokens[1:]):
        tok.last = after.line != tok.line
    return tokens, comments


class Parser:
    def __init__(self, path, text):
        self.path = path
        self.tokens, self.comments = lex(path, text)
        self.pos = 0
        self.by_line = {c.line: c for c in self.comments}  # built once: docs() is per declaration

    # ---- tokens ----

    def peek(self, ahead=0):
        try:
            return self.tokens[self.pos + ahead]
        except IndexError:  # past the end (after a failed eof check): stay on eof
            return self.tokens[-1]

    def next(self):
        tok = self.peek()
        self.pos += 1
        return tok

    def at(self, text):
        tok = self.peek()
        return tok.text == text and tok.kind in ("punct", "keyword")

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

    def docs(self, first, end):
        """Own-line comments right above the declaration's first token, if it
        starts its line, then the comment after its token `end`, if that
        token ends its line.

        A line has one first and one last token and each belongs to one
        declaration, so each comment is walked once and documents at most
        one declaration: parsing stays linear however many declarations
        share a line."""
        above, line = [], first.line - 1
        if first.first:
            while line in self.by_line and self.by_line[line].own_line:
                above.append(self.by_line[line].text)
                line -= 1
            above.reverse()
        trail = self.by_line.get(end.line)
        if end.last and trail is not None and not trail.own_line:
            above.append(trail.text)
        return [t for t in above if t]

    def header_end(self, brace):
        """The token a struct's, interface's or enum's trailing comment follows:
        its `{` when that ends the line, else its own last token."""
        return brace if brace.last else self.tokens[self.pos - 1]

    def prev(self):
        """The token just consumed: the last one of a declaration parsed."""
        return self.tokens[self.pos - 1]

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
        first = self.tokens[0].line
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
        brace = self.expect("{")
        fields = []
        while not self.at("}"):
            if self.peek().kind == "eof":
                self.fail("'}'")
            annots = self.annotations()
            self.refuse_annotations(annots, "a field")
            fields.append(self.field())
        self.expect("}")
        self.accept(";")
        return Struct(name.text, name.loc, fields, self.docs(kw, self.header_end(brace)))

    def field(self):
        first = self.peek()
        ty, depth = self.type_nested(False, 0)
        name = self.ident("field name")
        ty = self.name_suffix(ty, depth)
        self.expect(";")
        return Field(name.text, name.loc, ty, self.docs(first, self.prev()))

    def name_suffix(self, ty, depth):
        """C-style dimensions after a name: `u8 data[2][4]` is 2 arrays of 4.
        Each is a level of nesting on top of the type's own `depth`."""
        dims = []
        while self.at("["):
            self.check_nesting(depth + len(dims) + 1, self.peek().loc)
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
        brace = self.expect("{")
        members = []
        while not self.at("}"):
            first = self.ident("enum member name")
            more = self.accept(",")
            members.append(EnumMember(first.text, first.loc, self.docs(first, self.prev())))
            if not more:
                break
        self.expect("}", "',' or '}'" if members else "'}'")
        self.accept(";")
        return Enum(name.text, name.loc, members, self.docs(kw, self.header_end(brace)))

    def interface(self):
        kw = self.expect("interface")
        name = self.ident("interface name")
        brace = self.expect("{")
        methods = []
        while not self.at("}"):
            if self.peek().kind == "eof":
                self.fail("'}'")
            first = self.peek()
            annots = self.annotations()
            if not self.at("fn"):
                self.fail("'fn'")
            methods.append(self.method(first, annots))
        self.expect("}")
        self.accept(";")
        return Interface(name.text, name.loc, methods, self.docs(kw, self.header_end(brace)))

    def method(self, first, annots):
        """`first` is the method's first token: its first annotation or `fn`."""
        self.expect("fn")
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
        return Method(name.text, name.loc, params, result, annots, self.docs(first, self.prev()))

    def param(self):
        annots = self.annotations()
        self.refuse_annotations(annots, "a parameter")
        mode = None
        if self.at("move") or self.at("borrow"):
            tok = self.next()
            mode = (tok.text, tok.loc)
        ty, depth = self.type_nested(False, 0)
        name = self.ident("parameter name")
        ty = self.name_suffix(ty, depth)
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
                      self.docs(kw, self.prev()))

    # ---- types ----

    def type(self, in_result=False):
        return self.type_nested(in_result, 0)[0]

    @staticmethod
    def check_nesting(depth, loc):
        if depth > MAX_TYPE_NESTING:
            raise IdlError(loc, f"type nested more than {MAX_TYPE_NESTING} levels deep (each "
                           "<...>, &, *, [N] and [] is a level)")

    def type_nested(self, in_result, outer):
        """A type expression, with its postfix `*` and `[N]` (any number), as
        (type, its depth). `outer` levels enclose it; the whole must stay
        within MAX_TYPE_NESTING, checked before each recursion so that a
        hostile nesting fails here instead of in Python's stack."""
        tok = self.peek()
        self.check_nesting(outer + 1, tok.loc)
        if self.accept("&"):
            inner, depth = self.type_nested(in_result, outer + 1)
            ty = Ref(inner, tok.loc)
        elif self.at("*"):
            # Rust spelling: `*const T`, `*mut T`.
            self.next()
            if self.peek().kind == "ident" and self.peek().text in ("const", "mut"):
                self.next()
            inner, depth = self.type_nested(in_result, outer + 1)
            ty = Ptr(inner, tok.loc, prefix=True)
        elif self.at("fn"):
            self.next()
            self.skip_parens()
            depth = 0
            if self.accept("->"):
                depth = self.type_nested(in_result, outer + 1)[1]
            ty = FnPtr(tok.loc)
        elif in_result and self.at("("):
            self.next()
            self.expect(")", "')' (the empty result is '()')")
            ty, depth = Unit(tok.loc), 0
        elif tok.kind == "ident":
            self.next()
            args, depth = [], 0
            if self.accept("<"):
                while True:
                    if self.peek().kind == "number":
                        arg = self.next()
                        args.append((arg.value, arg.loc))
                    else:
                        arg, arg_depth = self.type_nested(True, outer + 1)
                        args.append(arg)
                        depth = max(depth, arg_depth)
                    if not self.accept(","):
                        break
                self.expect(">", "',' or '>'")
            ty = Named(tok.text, tok.loc, args)
        else:
            self.fail("type")
        depth += 1
        while self.at("*") or self.at("["):
            self.check_nesting(outer + depth + 1, self.peek().loc)
            depth += 1
            if self.at("*"):
                ty = Ptr(ty, self.next().loc)
            else:
                loc, length = self.dimension()
                ty = SizedArray(ty, length, loc) if length is not None else UnboundedArray(ty, loc)
        return ty, depth

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
