#!/usr/bin/env python3
"""A stand-in for qemu-system-x86_64 that plays the guest's side of Maple's contract.

ci/harness/selftest runs the harness against it (MAPLE_QEMU=this file) so the
harness's mechanics (waiting, the control protocol, timeouts, kills, exit
reasons) are tested without a kernel and in a fraction of a second per case.
It understands only the arguments the harness passes: COM1 on stdio, COM2 and
QMP as unix-socket servers, -smp and -append. Extra words on the command line
pick a misbehaviour: `fake=hang` (say nothing after the loader), `fake=exit`
(die at once with status 3), `fake=ktestfail` (one in-guest test fails).
"""
import json
import os
import signal
import socket
import sys
import threading
import time

T0 = time.monotonic()
MAX_LINE = 128
COMMANDS = ["help", "mem", "threads", "uptime", "panic-test", "shutdown"]


class Fake:
    def __init__(self, argv):
        self.chardevs, self.serials = {}, []
        self.qmp_path, self.cmdline, self.smp, self.uefi = None, "", 1, False
        it = iter(argv)
        for a in it:
            if a == "-chardev":
                spec = next(it)
                kind, _, rest = spec.partition(",")
                opts = dict(kv.partition("=")[::2] for kv in rest.split(","))
                self.chardevs[opts["id"]] = (kind, opts)
            elif a == "-serial":
                self.serials.append(next(it))
            elif a == "-qmp":
                self.qmp_path = next(it).split(",")[0][len("unix:"):]
            elif a == "-append":
                self.cmdline = next(it)
            elif a == "-smp":
                self.smp = int(next(it).split(",")[0])
            elif a == "-drive":
                self.uefi |= "if=pflash" in next(it)
        self.words = self.cmdline.split()
        self.lock = threading.Lock()
        self.qmp_conn = None

    def log(self, text, stamp=True):
        line = f"[{time.monotonic() - T0:11.6f}] {text}" if stamp else text
        with self.lock:
            sys.stdout.buffer.write(line.encode() + b"\r\n")
            sys.stdout.buffer.flush()

    def serve_qmp(self):
        srv = listen(self.qmp_path)
        conn, _ = srv.accept()
        conn.sendall(b'{"QMP": {"version": {}, "capabilities": []}}\r\n')
        f = conn.makefile("rb")
        f.readline()
        conn.sendall(b'{"return": {}}\r\n')
        self.qmp_conn = conn

    def power_off(self, reason, status=0):
        if self.qmp_conn is not None:
            event = {"event": "SHUTDOWN", "data": {"guest": reason != "host-signal",
                                                   "reason": reason}}
            try:
                self.qmp_conn.sendall(json.dumps(event).encode() + b"\r\n")
            except OSError:
                pass
        os._exit(status)

    def serve_ctl(self, path):
        srv = listen(path)
        while True:
            conn, _ = srv.accept()
            buf = b""
            while True:
                data = conn.recv(4096)
                if not data:
                    break
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    # framed: SOH, id, space (docs/console.md); SOH drops what came before
                    line = line[max(line.rfind(b"\x01"), 0):]
                    tag = b""
                    if line.startswith(b"\x01"):
                        rid, _, line = line[1:].partition(b" ")
                        tag = b"#" + rid + b" "
                    if len(line) > MAX_LINE:
                        conn.sendall(tag + b"ERR line too long\r\n")
                        continue
                    self.answer(TaggedConn(conn, tag), line.rstrip(b"\r"))
            conn.close()

    def answer(self, conn, line):
        if any(b < 0x20 or b > 0x7e for b in line):
            conn.sendall(b"ERR malformed line: non-printable byte\r\n")
            return
        cmd = line.decode().split()
        name = cmd[0] if cmd else ""
        replies = {
            "help": COMMANDS,
            "mem": ["frames: 1000 total, 900 free"],
            "threads": ["  1 idle0 running"],
            "uptime": [f"{time.monotonic() - T0:.6f} s"],
        }
        if name in replies:
            out = replies[name] + ["OK"]
        elif name == "shutdown":
            conn.sendall(b"OK\r\n")
            time.sleep(0.05)
            self.power_off("guest-shutdown")
        elif name == "panic-test":
            conn.sendall(b"  taking a deliberate #UD\n")
            self.log("exception 14 (#PF) at 0xffffffff8010abcd, cr2 0x0")
            self.log("backtrace:")
            self.log("  #0 0xffffffff8010abcd ctl_cmd_panic_test+0x1c")
            self.log("  #1 0xffffffff80109000 ctl_dispatch+0x40")
            self.log("  #2 0xffffffff80100123 kmain+0x99")
            self.log("halted")
            time.sleep(3600)
            return
        else:
            out = [f"ERR unknown command: {name or '(empty)'}"]
        conn.sendall("".join(s + "\r\n" for s in out).encode())

    def run(self):
        signal.signal(signal.SIGTERM, lambda *a: self.power_off("host-signal"))
        if self.qmp_path:
            threading.Thread(target=self.serve_qmp, daemon=True).start()
        ctl = [s for s in self.serials[1:2] if s.startswith("chardev:")]
        if ctl:
            path = self.chardevs[ctl[0][len("chardev:"):]][1]["path"]
            threading.Thread(target=self.serve_ctl, args=(path,), daemon=True).start()
        time.sleep(0.1)  # let the harness's QMP client connect, as with real QEMU
        if self.uefi:
            self.log("efi-loader: start", stamp=False)
        if "fake=exit" in self.words:
            sys.stderr.write("fakeqemu: exiting as asked\n")
            os._exit(3)
        if "fake=hang" in self.words:
            time.sleep(3600)
        self.log("maple: booting")
        self.log("cpu: PKU supported, enabled")
        self.log(f"smp: {self.smp} CPUs online")
        self.log("maple: ready")
        tests = [w[5:] for w in self.words if w.startswith("test=")]
        if tests:
            fails = 1 if "fake=ktestfail" in self.words else 0
            self.log(f'ktest: running "{tests[0]}" (3 tests built in, {2 + fails} selected)')
            self.log("ktest: PASS alpha (12 us)")
            self.log("ktest: PASS beta (3 us)")
            if fails:
                self.log("ktest: FAIL gamma: expected 1, got 2")
            self.log(f"ktest: summary 2 passed, {fails} failed")
            time.sleep(0.05)
            self.power_off("guest-shutdown")
        time.sleep(3600)


class TaggedConn:
    """Puts a request's tag before every line of its reply."""

    def __init__(self, conn, tag):
        self.conn, self.tag = conn, tag

    def sendall(self, data):
        lines = data.split(b"\n")
        self.conn.sendall(b"\n".join(self.tag + s if s else s for s in lines))


def listen(path):
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(1)
    return s


if __name__ == "__main__":
    Fake(sys.argv[1:]).run()
