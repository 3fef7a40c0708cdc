"""bench/net's parsing and figures: Maple's `bench: net` lines (kernel/bench/net.c), the
netdevs both guests get, and the intervals and targets the results file reports.

Keys of Maple figures: (driver, path, dir, size, batch). Linux figures: (pkt_size,
clone_skb) from ci/harness/linuxguest.parse_pktgen.
"""
import re

from .bench import interval, verdict

# The NIC and its netdev. TX: a hub with the NIC's port and a peer-less sink that drops
# every frame (with one port the hub reports it cannot receive and frames queue forever).
NIC = ["-device", "virtio-net-pci,netdev=n0,disable-legacy=on"]
TX_NET = ["-netdev", "hubport,id=n0,hubid=0", "-netdev", "hubport,id=sink,hubid=0"] + NIC
# RX (Maple's virtio-net only): a UDP socket sending to its own address loops every frame
# back to the NIC, as the net test group's netdev does.
RX_PORT = 47311
RX_NET = ["-netdev", f"socket,id=n0,udp=127.0.0.1:{RX_PORT},localaddr=127.0.0.1:{RX_PORT}"] + NIC
# igb: QEMU 10.0's 82576 model (the distro's 7.2 has none) on the same two-port hub, for
# Maple's igb and Linux's igb.ko (the Linux guest's generic flavour) alike.
IGB_TX_NET = TX_NET[:4] + ["-device", "igb,netdev=n0"]
# igb RX: the UDP loopback of RX_NET with QEMU 10.0's igb.
IGB_RX_NET = RX_NET[:2] + ["-device", "igb,netdev=n0"]
# ixgbe: the project's 82599 model (tools/qemu-82599, a QEMU built by ci/qemu82599) on the
# same hub, for Maple's ixgbe and Linux's ixgbe.ko alike.
IXGBE_TX_NET = TX_NET[:4] + ["-device", "ixgbe82599,netdev=n0"]

DRIVERS = ("virtio_net", "nullnet", "igb", "ixgbe")
PATHS = ("indomain", "crossing", "shadow")
DIRS = ("tx", "rx")
SIZES = (64, 1514)
BATCHES = (1, 32)
LINUX_SIZE = 60  # pktgen's pkt_size for a 64-byte frame on the wire (no FCS)
CLONES = (1000, 0)

# The targets.
TX_TARGET = 1.5  # virtio-net 64-byte TX over Linux pktgen clone_skb 1000
IGB_TARGET = 1.0  # igb 64-byte TX over Linux pktgen clone_skb 1000 on the same igb model
# Each NIC driver's 64-byte TX target over pktgen with clone_skb 1000 (its faster setting).
TX_TARGETS = {"virtio_net": TX_TARGET, "igb": IGB_TARGET}
CROSSING = 0.7   # nullnet one crossing at batch 32 over indomain, same boot

RESULT = re.compile(r"bench: net driver=(\w+) path=(\w+) dir=(\w+) size=(\d+) batch=(\d+) "
                    r"pkts=(\d+) ns=(\d+) pps=([\d.]+)")
SERIES = re.compile(r"bench: net series t_ms=(\d+) pkts=(\d+) crash=([01])")
CRASH = re.compile(r"bench: net crash pkts=(\d+) ns=(\d+) strikes=(\d+) crashes=(\d+) "
                   r"lost=(\d+) errors=(\d+) calm_pkts=(\d+) calm_ns=(\d+)")
CRASH_KEPT = 0.9  # crashed-phase pps over calm-phase pps, no buffer lost
CRASH_MS = 100
# Any other `bench: net` line but the end (a failed measurement, a domain not created).
OTHER = re.compile(r"bench: (net\S* (?!done$|series |crash pkts=).*)")
# What netbench says of a crash that lost buffers (domains/test/netbench/loop.c).
NETBENCH = re.compile(r"(netbench: .*)")


def rate(pkts, ns):
    return pkts * 1e9 / ns


def parse_maple(lines):
    """A `bench=net` boot's lines: {'results': {key: (pkts, ns, printed pps)}, 'errors':
    [any other `bench: net` line, or a figure off the contract]}."""
    results, errors = {}, []
    for line in lines:
        m = RESULT.search(line)
        if m:
            key = (m[1], m[2], m[3], int(m[4]), int(m[5]))
            pkts, ns = int(m[6]), int(m[7])
            if (key[0] not in DRIVERS or key[1] not in PATHS or key[2] not in DIRS or
                    key[3] not in SIZES or key[4] not in BATCHES or ns <= 0):
                errors.append(f"unexpected line: {line.strip()}")
            else:
                results[key] = (pkts, ns, m[8])
            continue
        m = OTHER.search(line)
        if m:
            errors.append(m[1])
    return {"results": results, "errors": errors}


def judged(iv, goal, n_boots):
    if iv is None:
        return "not judged (no Linux figure)"
    if n_boots < 3:
        return f">= {goal:g}x: not judged (fewer than 3 boots)"
    return f">= {goal:g}x: {verdict(iv, goal)}"


def linux_rows(linux):
    """{clone_skb: pps interval} over the Linux boots."""
    rows = {}
    for c in CLONES:
        xs = [rate(*b["results"][(LINUX_SIZE, c)]) for b in linux
              if (LINUX_SIZE, c) in b["results"]]
        if xs:
            rows[c] = interval(xs)
    return rows


def maple_rows(pairs, drivers=DRIVERS):
    """One row per Maple key of drivers, in a fixed order: its pps interval, per clone_skb
    the interval of its pps over the paired Linux boot's (pairs: (linux boot or None, maple)),
    and its target over clone_skb 1000 (None where the issue sets none)."""
    keys = sorted({k for _, m in pairs for k in m["results"] if k[0] in drivers},
                  key=lambda k: (DRIVERS.index(k[0]), DIRS.index(k[2]), k[3], k[4],
                                 PATHS.index(k[1])))
    rows = []
    for key in keys:
        xs = [(m["results"][key], lx) for lx, m in pairs if key in m["results"]]
        ratio = {}
        for c in CLONES:
            rs = [rate(*mx[:2]) / rate(*lx["results"][(LINUX_SIZE, c)]) for mx, lx in xs
                  if lx and (LINUX_SIZE, c) in lx["results"]]
            ratio[c] = interval(rs) if rs else None
        rows.append({"key": key, "pps": interval([rate(*mx[:2]) for mx, _ in xs]),
                     "ratio": ratio, "n": len(xs),
                     "target": TX_TARGETS.get(key[0]) if key[2] == "tx" and key[3] == 64
                     else None})
    return rows


def crossing_rows(maple):
    """[((driver, dir, size, batch), crossing/indomain interval, target or None)]."""
    rows = []
    for d in DRIVERS:
        for dr in DIRS:
            for size in SIZES:
                for batch in BATCHES:
                    ins, cross = (d, "indomain", dr, size, batch), (d, "crossing", dr, size, batch)
                    rs = [rate(*b["results"][cross][:2]) / rate(*b["results"][ins][:2])
                          for b in maple if ins in b["results"] and cross in b["results"]
                          and b["results"][ins][0] > 0]
                    if rs:
                        goal = CROSSING if d == "nullnet" and batch == 32 else None
                        rows.append(((d, dr, size, batch), interval(rs), goal))
    return rows


def parse_crash(lines):
    """A `bench=net_crash` boot's lines; None without its final `crash` line."""
    final = next((m for m in map(CRASH.search, lines) if m), None)
    if final is None:
        return None
    v = [int(final[i]) for i in range(1, 9)]
    return {
        "pkts": v[0], "ns": v[1], "strikes": v[2], "crashes": v[3], "lost": v[4],
        "errors": v[5], "calm_pkts": v[6], "calm_ns": v[7],
        "series": [(int(m[1]), int(m[2]), m[3] == "1") for m in map(SERIES.search, lines) if m],
        "guest": [m[1] for m in map(lambda s: OTHER.search(s) or NETBENCH.search(s), lines)
                  if m],
    }


def crash_row(crashes):
    """The crashed phase's pps over the calm phase's, over the crash boots, and the verdict:
    missed whenever a buffer was lost or a call failed but for a crash."""
    kept = [rate(c["pkts"], c["ns"]) / rate(c["calm_pkts"], c["calm_ns"]) for c in crashes
            if c["calm_pkts"] > 0 and c["ns"] > 0 and c["calm_ns"] > 0]
    if not kept:
        return None
    iv = interval(kept)
    lost = sum(c["lost"] for c in crashes)
    errors = sum(c["errors"] for c in crashes)
    if len(kept) < 3:
        v = "not judged (fewer than 3 boots)"
    elif lost or errors:
        v = f"missed ({lost} buffers lost, {errors} failed calls)"
    else:
        v = verdict(iv, CRASH_KEPT)
    return {"kept": iv, "lost": lost, "errors": errors, "verdict": v,
            "strikes": sum(c["strikes"] for c in crashes)}


def timeline(series):
    """(t in s, packets/s in that bin, crash) from the per-bin counts."""
    return [(t1 / 1000, p1 * 1000 / (t1 - t0), crash)
            for (t0, _, _), (t1, p1, crash) in zip(series, series[1:]) if t1 > t0]
