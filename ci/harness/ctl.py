"""Client for Maple's control protocol on COM2 (a unix socket on the host).

docs/console.md specifies the protocol. The host writes one framed request,
SOH, an id, a space and `command args`, then LF; the guest answers with zero
or more text lines and then a final `OK` or `ERR <reason>`, every line
prefixed `#id `. The client sends one request at a time, waits for the reply
that carries its id and discards everything else (late replies to a client
that gave up, replies to lines a human typed), so a stale reply is never
taken for the current one. Ids start at a random number per connection so
that two clients' ids do not meet.

QEMU serves one connection at a time and leaves a second one unaccepted, so
the guest cannot tell a second client anything. Clients therefore take an
exclusive lock on `<socket>.lock` (flock) for as long as they are connected
and write their pid and command line into it; a second client is told which
process holds the console instead of waiting for a reply that cannot come.

ci/ctl, the QEMU harness and ci/libvirt-test all talk to the guest through
this one class, so they agree on framing, timeouts and error messages.
"""
import errno
import fcntl
import os
import random
import socket
import stat
import sys
import time

# sockaddr_un.sun_path is 108 bytes including the terminating NUL.
MAX_SOCKET_PATH = 107
# A reply longer than this is a runaway guest, not an answer.
MAX_REPLY_LINES = 10000


class CtlError(Exception):
    """The control socket could not be used (absent, refused, closed)."""


class CtlTimeout(CtlError):
    """The guest did not finish a reply in time."""


class CtlBusy(CtlError):
    """Another client holds the console."""


SOH = b"\x01"
MAX_ID = 999999999  # 9 digits (CTL_ID_MAX in kernel/lib/ctl.h)


def frame(rid, line):
    """The bytes of one framed request: SOH, id, space, the line, LF."""
    data = line if isinstance(line, bytes) else line.encode()
    if data.endswith(b"\n"):
        data = data[:-1]
    for bad, name in ((b"\n", "LF"), (b"\r", "CR"), (SOH, "SOH")):
        if bad in data:
            raise CtlError(f"request {data!r} holds a {name}: one request is one line")
    return SOH + str(rid).encode() + b" " + data + b"\n"


def lock_path(path):
    return path + ".lock"


def lock_holder(lock_file):
    """'pid N (command line)' of the process holding the lock, from /proc/locks."""
    try:
        st = os.stat(lock_file)
        with open("/proc/locks") as f:
            locks = f.read().splitlines()
    except OSError:
        return "another process"
    want = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    for entry in locks:
        words = entry.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"
        if len(words) >= 6 and words[1] == "FLOCK" and words[5] == want:
            pid = words[4]
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
                cmd = " ".join(a.decode("utf-8", "replace") for a in argv if a)
            except OSError:
                cmd = ""
            return f"pid {pid}" + (f" ({cmd})" if cmd else "")
    return "another process"


class Reply:
    """One reply: the text lines and the final status line."""

    def __init__(self, lines, status):
        self.lines = lines
        self.status = status

    @property
    def ok(self):
        return self.status == "OK"

    @property
    def reason(self):
        """The text after ERR, or '' for OK."""
        return "" if self.ok else self.status[3:].strip()

    def __repr__(self):
        return f"Reply({self.lines!r}, {self.status!r})"


def is_final(line):
    return line == "OK" or line == "ERR" or line.startswith("ERR ")


class CtlClient:
    """A connection to one guest's control console."""

    def __init__(self, path):
        self.path = path
        self.sock = None
        self.lock = None
        self.buf = b""
        self.next_id = random.SystemRandom().randrange(1, MAX_ID)
        self.heard = False  # any byte from the guest on this connection
        self.discarded = []  # lines that were not replies to our requests

    def connect(self, timeout=5.0):
        """Take the console's lock and connect, retrying while the socket is not
        there yet (QEMU starting). CtlBusy at once if another client holds it."""
        if len(os.fsencode(self.path)) > MAX_SOCKET_PATH:
            raise CtlError(f"{self.path}: socket path is longer than {MAX_SOCKET_PATH} bytes")
        deadline = time.monotonic() + timeout
        while True:
            err = self._try_connect()
            if err is None:
                return self
            if time.monotonic() >= deadline:
                self.close()
                raise CtlError(f"{self.path}: {err}")
            time.sleep(0.05)

    def _take_lock(self):
        """Invariant: while connected, this client holds <socket>.lock, so no
        other cooperating client is ever queued behind it unawares."""
        name = lock_path(self.path)
        try:
            fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as e:
            raise CtlError(f"{name}: cannot open the console's lock file: "
                           f"{e.strerror or e}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise CtlBusy(f"{self.path}: console busy: in use by "
                              f"{lock_holder(name)}") from None
            raise CtlError(f"{name}: cannot lock: {e.strerror or e}") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {' '.join(sys.argv)}\n".encode())
        self.lock = fd

    def _try_connect(self):
        try:
            mode = os.stat(self.path).st_mode
        except FileNotFoundError:
            return "no such socket"
        if not stat.S_ISSOCK(mode):
            return "exists but is not a socket"
        if self.lock is None:
            self._take_lock()  # CtlBusy goes straight to the caller
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(self.path)
        except OSError as e:
            s.close()
            if isinstance(e, ConnectionRefusedError):
                return "connection refused (nothing is listening: the VM is not running)"
            return e.strerror or str(e)
        self.sock = s
        return None

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.lock is not None:
            os.close(self.lock)  # releases the flock
            self.lock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send_raw(self, data):
        """Write bytes as they are: for malformed-input tests."""
        if self.sock is None:
            raise CtlError(f"{self.path}: not connected")
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise CtlError(f"{self.path}: write failed: {e.strerror or e}") from None

    def readline(self, deadline, what):
        """Return the next line without its line ending; CtlTimeout at the deadline.

        what says what was awaited, for the message.
        """
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                partial = self.buf.decode("utf-8", "replace")
                hint = ("" if self.heard else
                        " (nothing came back at all: the guest may be busy, or a client "
                        "that does not take the lock, such as socat, holds the console)")
                raise CtlTimeout(f"{self.path}: {what}"
                                 + (f" (got only {partial!r})" if partial else "") + hint)
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError as e:
                raise CtlError(f"{self.path}: read failed: {e.strerror or e}") from None
            if not chunk:
                raise CtlError(f"{self.path}: the guest closed the connection")
            self.heard = True
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode("utf-8", "replace").rstrip("\r")

    def read_reply(self, rid, timeout=10.0):
        """Read the reply to request rid, up to and including its OK / ERR line.

        Lines without the tag `#rid ` are someone else's (a late reply to a
        client that gave up, a reply to a line a human typed): they are kept
        in self.discarded, never returned.
        """
        deadline = time.monotonic() + timeout
        what = f"no complete reply to request #{rid} within {timeout:g} s"
        tag = f"#{rid} "
        lines = []
        while True:
            line = self.readline(deadline, what)
            if not line.startswith(tag):
                self.discarded.append(line)
                del self.discarded[:-MAX_REPLY_LINES]
                continue
            line = line[len(tag):]
            if is_final(line):
                return Reply(lines, line)
            lines.append(line)
            if len(lines) > MAX_REPLY_LINES:
                raise CtlError(f"{self.path}: reply has more than {MAX_REPLY_LINES} lines "
                               "and no OK/ERR")

    def new_id(self):
        rid = self.next_id
        self.next_id = rid % MAX_ID + 1
        return rid

    def command(self, line, timeout=10.0):
        """Send one framed command line and return its Reply (one request at a
        time: the next is sent only after this reply, or this timeout)."""
        rid = self.new_id()
        self.send_raw(frame(rid, line))
        return self.read_reply(rid, timeout)

    def pending(self, wait=0.0):
        """Return whatever the guest has sent that nobody asked for (after `wait` s)."""
        if self.sock is None:
            return b""
        deadline = time.monotonic() + wait
        while True:
            self.sock.settimeout(max(deadline - time.monotonic(), 0.001))
            try:
                chunk = self.sock.recv(4096)
            except OSError:  # socket.timeout included
                break
            if not chunk:
                break
            self.buf += chunk
        data, self.buf = self.buf, b""
        return data
