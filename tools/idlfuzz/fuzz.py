"""A mutation fuzzer for idlc: seeded, deterministic, byte- and token-level.

Inputs are the seed files (the real .idl files) changed by one to four
mutations drawn from a random.Random(seed), so a seed and a count name the
same inputs on every machine. Each runs through the real idlc command in a
worker process (worker.py); an input passes when idlc exits 0 with
nothing on stderr, or exits 1 with every stderr line `FILE:LINE:COL: error:
MESSAGE`. Anything else is a failure: a traceback, `idlc: internal error`,
another status, or no answer within the per-input timeout (the worker is then
killed and restarted). Used by tools/test_idlc_fuzz.py (a bounded run in
ci/test) and tools/fuzz-idlc (longer runs, by hand).
"""
import json
import os
import random
import re
import select
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_INPUT = 256 * 1024  # inputs are cut to this many bytes
# What token-level mutations insert: the language's words and punctuation, the
# built-in types, boundary numbers, C keywords, nesting openers.
DICTIONARY = [w.encode() for w in """
    struct interface enum create fn move borrow @replay @idempotent @ -> { } ( ) < > [ ] , ; * &
    u8 u16 u32 u64 i8 i16 i32 i64 bool RRef RRefArray RRefDeque RRefVec Result any () RRef<any>
    0 1 4 31 32 0x0 0xffffffff 4294967295 4294967296 99999999999999999999 const mut int static
    void ref out got _COUNT // \n
""".split()] + [b"\n", b"\t", b"\r", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"\xef\xbb\xbf"]
NESTERS = [b"RRef<", b"&", b"*", b"[]", b"[1]", b"<", b"(", b"{", b"Result<", b"RRefVec<",
           b"fn(", b"// c\n", b"struct S { ", b"u8 "]
BUILTIN_TYPES = [w.encode() for w in "u8 u16 u32 u64 i8 i16 i32 i64 bool any Result RRef".split()]
TEMPLATES = [b"struct $A { $B a; }", b"struct $A { $B a; $C b; }", b"struct $A { $A a; }",
             b"struct $A { RRef<$B> r; }", b"struct $A { RRefVec<$B, 4> v; }",
             b"struct $A { RRefArray<$B, 2> a; RRefDeque<$C, 3> d; }", b"struct $A { $B a[2][3]; }",
             b"interface $A { fn $B(move RRef<$C> x) -> Result<()>; }",
             b"interface $A { fn $B(borrow RRef<$C> x, u64 n) -> Result<RRef<$C>>; }",
             b"interface $A { @replay fn $B(u32 $C) -> Result<u64>; }",
             b"create $A() -> $B;", b"enum $A { $B, $C }"]
TOKEN = re.compile(rb"//[^\n]*|[A-Za-z_][A-Za-z0-9_]*|0[xX][0-9a-fA-F]+|[0-9]+|->|\s+|.", re.S)
IDENT = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*\Z")
KEYWORDS = {b"struct", b"interface", b"enum", b"create", b"fn", b"move", b"borrow"}


class Mutator:
    def __init__(self, seeds, seed):
        self.seeds = seeds
        self.rng = random.Random(seed)
        # The files' names (keywords aside): renaming one keeps the grammar.
        self.names = sorted({t for s in seeds for t in TOKEN.findall(s)
                             if IDENT.match(t) and t not in KEYWORDS})

    def input(self):
        """The next input: a seed file changed by 1 to 4 mutations."""
        data = self.rng.choice(self.seeds)
        # A third of the inputs keep to mutations that mostly leave the
        # grammar intact, so that they get past the parser to the checker
        # and the generators (most byte-level mutations stop at the lexer).
        pool = DECLARATIVE if self.rng.random() < 1 / 3 else MUTATIONS
        for _ in range(self.rng.randint(1, 4)):
            data = self.rng.choice(pool)(self, data)[:MAX_INPUT]
        return data

    def pos(self, data):
        return self.rng.randint(0, len(data))

    def span(self, items):
        a = self.rng.randint(0, len(items))
        return a, min(len(items), a + self.rng.randint(1, 64))

    # ---- byte level ----

    def flip_bit(self, data):
        if not data:
            return data
        i = self.rng.randrange(len(data))
        return data[:i] + bytes([data[i] ^ (1 << self.rng.randrange(8))]) + data[i + 1:]

    def set_byte(self, data):
        if not data:
            return data
        i = self.rng.randrange(len(data))
        b = self.rng.choice([0, 0xff, 0x80, 0xc3, 10, 13, 9, 0x7b, 0x7d, 0x3c, 0x3e,
                             self.rng.randrange(256)])
        return data[:i] + bytes([b]) + data[i + 1:]

    def insert_bytes(self, data):
        """Mostly printable ASCII, so that most inputs still reach the parser
        and the checker past the UTF-8 check."""
        i = self.pos(data)
        top = 256 if self.rng.random() < 0.25 else 127
        junk = bytes(self.rng.randrange(32, top) for _ in range(self.rng.randint(1, 8)))
        return data[:i] + junk + data[i:]

    def delete_bytes(self, data):
        a, b = self.span(data)
        return data[:a] + data[b:]

    def duplicate_bytes(self, data):
        a, b = self.span(data)
        i = self.pos(data)
        return data[:i] + data[a:b] + data[i:]

    def truncate(self, data):
        return data[:self.pos(data)]

    # ---- token level ----

    def tokens(self, data):
        return TOKEN.findall(data)

    def delete_token(self, data):
        toks = self.tokens(data)
        if toks:
            del toks[self.rng.randrange(len(toks))]
        return b"".join(toks)

    def duplicate_tokens(self, data):
        toks = self.tokens(data)
        a, b = self.span(toks)
        i = self.rng.randint(0, len(toks))
        return b"".join(toks[:i] + toks[a:b] + toks[i:])

    def swap_tokens(self, data):
        toks = self.tokens(data)
        if len(toks) > 1:
            i, j = self.rng.randrange(len(toks)), self.rng.randrange(len(toks))
            toks[i], toks[j] = toks[j], toks[i]
        return b"".join(toks)

    def word(self):
        if self.names and self.rng.random() < 0.4:
            return self.rng.choice(self.names)
        return self.rng.choice(DICTIONARY)

    def replace_token(self, data):
        toks = self.tokens(data)
        if toks:
            toks[self.rng.randrange(len(toks))] = self.word()
        return b"".join(toks)

    def insert_token(self, data):
        toks = self.tokens(data)
        toks.insert(self.rng.randint(0, len(toks)), b" " + self.word() + b" ")
        return b"".join(toks)

    def rename(self, data):
        """Every use of one name becomes another: declarations stay
        consistent, so this reaches the checker's rules (duplicates, clashes)."""
        toks = self.tokens(data)
        names = sorted({t for t in toks if IDENT.match(t) and t not in KEYWORDS})
        if names:
            old, new = self.rng.choice(names), self.rng.choice(self.names + BUILTIN_TYPES)
            toks = [new if t == old else t for t in toks]
        return b"".join(toks)

    def nest(self, data):
        """An opener repeated up to 3000 times, with or without its closers:
        depth limits, and the recursion they guard."""
        toks = self.tokens(data)
        opener = self.rng.choice(NESTERS)
        n = self.rng.choice([2, 10, 63, 64, 65, 200, 1000, 3000])
        closer = {b"RRef<": b">", b"<": b">", b"(": b")", b"{": b"}", b"Result<": b">",
                  b"RRefVec<": b", 4>", b"fn(": b")"}.get(opener, b"")
        i = self.rng.randint(0, len(toks))
        middle = opener * n + (b"u8" + closer * n if self.rng.random() < 0.5 else b"")
        return b"".join(toks[:i]) + middle + b"".join(toks[i:])

    def declaration(self, data):
        """A new declaration at a line start, from a template filled with the
        files' own names and the built-in types: reaches the checker's rules
        (unknown and duplicate names, containers, cycles, results)."""
        t = self.rng.choice(TEMPLATES)
        words = [self.rng.choice(self.names + BUILTIN_TYPES) for _ in range(3)]
        decl = t.replace(b"$A", words[0]).replace(b"$B", words[1]).replace(b"$C", words[2])
        lines = data.split(b"\n")
        lines.insert(self.rng.randint(0, len(lines)), decl)
        return b"\n".join(lines)

    def splice(self, data):
        other = self.tokens(self.rng.choice(self.seeds))
        a, b = self.span(other)
        toks = self.tokens(data)
        i = self.rng.randint(0, len(toks))
        return b"".join(toks[:i] + other[a:b] + toks[i:])

    def lines(self, data):
        """Delete, duplicate or swap whole lines: whole declarations and fields."""
        lines = data.split(b"\n")
        i, j = self.rng.randrange(len(lines)), self.rng.randrange(len(lines))
        op = self.rng.randrange(3)
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(j, lines[i])
        else:
            lines[i], lines[j] = lines[j], lines[i]
        return b"\n".join(lines)


MUTATIONS = [Mutator.flip_bit, Mutator.set_byte, Mutator.insert_bytes, Mutator.delete_bytes,
             Mutator.duplicate_bytes, Mutator.truncate, Mutator.delete_token,
             Mutator.duplicate_tokens, Mutator.swap_tokens, Mutator.replace_token,
             Mutator.insert_token, Mutator.rename, Mutator.nest, Mutator.declaration,
             Mutator.splice, Mutator.lines]
DECLARATIVE = [Mutator.rename, Mutator.declaration, Mutator.lines]


def verdict(status, stderr, path):
    """None if idlc's answer is clean, else why not (one line)."""
    if status == 0 and stderr == "":
        return None
    if status == 1 and stderr.endswith("\n"):
        good = re.compile(re.escape(path) + r":[1-9][0-9]*:[1-9][0-9]*: error: \S[^\n]*\Z")
        bad = [ln for ln in stderr[:-1].split("\n") if not good.match(ln)]
        if not bad:
            return None
        return f"exit 1 with a line not FILE:LINE:COL: error: ...: {bad[0][:200]!r}"
    last = stderr.strip().splitlines()[-1] if stderr.strip() else "(nothing on stderr)"
    return f"exit status {status}: {last[:200]}"


class Worker:
    """One worker.py process; restarted after a hang."""

    def __init__(self, idlc, workdir):
        self.idlc, self.workdir = idlc, workdir
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "worker.py"), self.idlc, self.workdir],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def stop(self):
        """Kill the worker (it may be stuck in an input) and reap it."""
        if self.proc:
            self.proc.kill()
            code = self.proc.wait()
            self.proc.stdin.close()
            self.proc.stdout.close()
            self.proc = None
            return code
        return None

    def run(self, data, timeout):
        """(status, stderr) of idlc on data, or None if it gave no answer in time."""
        if self.proc is None:
            self.start()
        try:
            self.proc.stdin.write(len(data).to_bytes(4, "big") + data)
            self.proc.stdin.flush()
        except BrokenPipeError:
            return "died", f"the worker process died (exit status {self.stop()})"
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            self.stop()
            return None
        line = self.proc.stdout.readline()
        if not line:
            return "died", f"the worker process died (exit status {self.stop()})"
        reply = json.loads(line)
        return reply["status"], reply["stderr"]


def seed_files(root):
    """The real .idl files, and every.idl (every accepted construct)."""
    paths = sorted(os.path.join(root, "domains/idl", n)
                   for n in os.listdir(os.path.join(root, "domains/idl")) if n.endswith(".idl"))
    paths.append(os.path.join(root, "tools/testdata/idl/every.idl"))
    seeds = []
    for p in paths:
        with open(p, "rb") as f:
            seeds.append(f.read())
    return seeds


def fuzz(idlc, seeds, seed, inputs=None, seconds=None, timeout=10.0, progress=None):
    """Run until `inputs` inputs or `seconds` have passed, whichever is given
    (both: the first reached). Returns (inputs run, [(input bytes, why)])."""
    mutator = Mutator(seeds, seed)
    failures, count = [], 0
    deadline = time.monotonic() + seconds if seconds is not None else None
    with tempfile.TemporaryDirectory(prefix="idlc-fuzz-") as workdir:
        worker = Worker(idlc, workdir)
        path = os.path.join(workdir, "fuzz.idl")
        try:
            while (inputs is None or count < inputs) and \
                    (deadline is None or time.monotonic() < deadline):
                data = mutator.input()
                count += 1
                answer = worker.run(data, timeout)
                why = (f"no answer within {timeout:g} s" if answer is None
                       else verdict(answer[0], answer[1], path))
                if why:
                    failures.append((data, why))
                if progress:
                    progress(count, len(failures))
        finally:
            worker.stop()
    return count, failures
