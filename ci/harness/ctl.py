"""Client for Maple's control protocol on COM2 (a unix socket on the host).

The host writes one line `command args\\n`; the guest answers with zero or
more text lines and then a final `OK` or `ERR <reason>`. ci/ctl, the QEMU
harness and ci/libvirt-test all talk to the guest through this one class, so
they agree on framing, timeouts and error messages.
"""
import os
import socket
import stat
import time

# sockaddr_un.sun_path is 108 bytes including the terminating NUL.
MAX_SOCKET_PATH = 107
# A reply longer than this is a runaway guest, not an answer.
MAX_REPLY_LINES = 10000


class CtlError(Exception):
    """The control socket could not be used (absent, refused, closed)."""


class CtlTimeout(CtlError):
    """The guest did not finish a reply in time."""


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
        self.buf = b""

    def connect(self, timeout=5.0):
        """Connect, retrying while the socket is not there yet (QEMU starting)."""
        if len(os.fsencode(self.path)) > MAX_SOCKET_PATH:
            raise CtlError(f"{self.path}: socket path is longer than {MAX_SOCKET_PATH} bytes")
        deadline = time.monotonic() + timeout
        while True:
            err = self._try_connect()
            if err is None:
                return self
            if time.monotonic() >= deadline:
                raise CtlError(f"{self.path}: {err}")
            time.sleep(0.05)

    def _try_connect(self):
        try:
            mode = os.stat(self.path).st_mode
        except FileNotFoundError:
            return "no such socket"
        if not stat.S_ISSOCK(mode):
            return "exists but is not a socket"
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

    def readline(self, deadline, timeout):
        """Return the next line without its line ending; CtlTimeout at the deadline.

        timeout is the whole wait the deadline stands for, for the message.
        """
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                partial = self.buf.decode("utf-8", "replace")
                raise CtlTimeout(f"{self.path}: no complete reply within {timeout:g} s"
                                 + (f" (got only {partial!r})" if partial else ""))
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError as e:
                raise CtlError(f"{self.path}: read failed: {e.strerror or e}") from None
            if not chunk:
                raise CtlError(f"{self.path}: the guest closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode("utf-8", "replace").rstrip("\r")

    def read_reply(self, timeout=10.0):
        """Read lines up to and including the final OK / ERR line."""
        deadline = time.monotonic() + timeout
        lines = []
        while True:
            line = self.readline(deadline, timeout)
            if is_final(line):
                return Reply(lines, line)
            lines.append(line)
            if len(lines) > MAX_REPLY_LINES:
                raise CtlError(f"{self.path}: reply has more than {MAX_REPLY_LINES} lines "
                               "and no OK/ERR")

    def command(self, line, timeout=10.0):
        """Send one command line and return its Reply."""
        data = line if isinstance(line, bytes) else line.encode()
        if not data.endswith(b"\n"):
            data += b"\n"
        self.send_raw(data)
        return self.read_reply(timeout)

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
