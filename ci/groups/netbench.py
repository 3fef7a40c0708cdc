"""netbench: bench/net's pieces: the exact parse of Maple's `bench: net` lines (measurements,
failures, the crash series and summary) and of the Linux guest's pktgen lines, the pairing of
Maple boots with Linux ones, the targets' verdicts (met only on a whole IQR of 3 or more; a
lost buffer misses the crash target; igb judged against pktgen on igb), bench/net's option
refusals, and a boot of the Linux guest (the cloud kernel) running pktgen on virtio-net behind
the two-port hub. The generic kernel's boot on QEMU 10.0's igb is bench/net's alone: under TCG it stalled once in five boots in Linux itself (RCU stalls, insmod
blocked), which no change of ours can fix, so it is not a pass/fail test here; bench/net reports
such a boot as failed and writes no figure from it.
"""
import os
import subprocess

from harness import linuxguest as lg
from harness import netbench as nb
from harness.qemu import ROOT, Config

from .common import Failure, progress, test, vm


def check(cond, reason):
    if not cond:
        raise Failure(reason)


def check_maple_parse():
    lines = [
        "[    0.43] bench: net driver=virtio_net path=indomain dir=tx size=64 batch=32 "
        "pkts=38464 ns=300107913 pps=128167.23",
        "[    0.44] bench: net driver=nullnet path=shadow dir=rx size=64 batch=1 pkts=5 ns=10 "
        "pps=500000000.00",
        "[    0.45] bench: net failure driver=nullnet path=crossing dir=tx size=64 batch=1: "
        "bench returned -22",
        "[    0.46] bench: net driver=e1000 path=indomain dir=tx size=64 batch=1 pkts=1 ns=1 pps=1",
        "[    0.465] bench: net driver=igb path=shadow dir=tx size=1514 batch=32 pkts=7 ns=10 "
        "pps=700000000.00",
        "[    0.47] bench: net driver=nullnet path=indomain dir=tx size=64 batch=1 pkts=1 ns=0 "
        "pps=0.00",
        "[    0.48] bench: net done",
    ]
    got = nb.parse_maple(lines)
    want = {"results": {("virtio_net", "indomain", "tx", 64, 32): (38464, 300107913, "128167.23"),
                        ("nullnet", "shadow", "rx", 64, 1): (5, 10, "500000000.00"),
                        ("igb", "shadow", "tx", 1514, 32): (7, 10, "700000000.00")},
            "errors": ["net failure driver=nullnet path=crossing dir=tx size=64 batch=1: "
                       "bench returned -22",
                       "unexpected line: [    0.46] bench: net driver=e1000 path=indomain "
                       "dir=tx size=64 batch=1 pkts=1 ns=1 pps=1",
                       "unexpected line: [    0.47] bench: net driver=nullnet path=indomain "
                       "dir=tx size=64 batch=1 pkts=1 ns=0 pps=0.00"]}
    check(got == want, f"parsed {got}")


def check_crash_parse():
    lines = ["bench: net series t_ms=10 pkts=320 crash=0",
             "bench: net series t_ms=20 pkts=0 crash=1",
             "bench: net_crash failed: netbench.bench returned -22",
             "[    4.1] netbench: crash 3: 32 buffers did not come back (the batch: rref_info -1)",
             "bench: net crash pkts=900 ns=3000000000 strikes=30 crashes=29 lost=2 errors=1 "
             "calm_pkts=1000 calm_ns=3000000000",
             "bench: net done"]
    got = nb.parse_crash(lines)
    want = {"pkts": 900, "ns": 3000000000, "strikes": 30, "crashes": 29, "lost": 2,
            "errors": 1, "calm_pkts": 1000, "calm_ns": 3000000000,
            "series": [(10, 320, False), (20, 0, True)],
            "guest": ["net_crash failed: netbench.bench returned -22",
                      "netbench: crash 3: 32 buffers did not come back (the batch: rref_info -1)"]}
    check(got == want, f"parsed {got}")
    check(nb.parse_crash(lines[:2] + ["bench: net done"]) is None,
          "a crash boot without its summary parsed")
    check(nb.timeline([(10, 320, False), (20, 100, True)]) == [(0.02, 10000.0, True)],
          f"timeline {nb.timeline([(10, 320, False), (20, 100, True)])}")


def check_pktgen_parse():
    lines = ["bench: linux ready kernel=6.1.0-57-cloud-amd64 uptime=3.95",
             "bench: linux pktgen size=60 clone=1000 pkts=377340 usec=2000012",
             "bench: linux pktgen size=60 clone=0 pkts=5 usec=0",
             "bench: linux pktgen size=60 clone=1000 pkts=0 usec=146",
             "bench: linux pktgen size=60 clone=7 failed: pktgen refused 'clone_skb 7'",
             "bench: linux pktgen size=60 clone=x pkts=6414 usec=307461",
             "bench: linux failed: no eth0 after 10 s (is the NIC attached, and its driver in "
             "/etc/net-modules?)",
             "bench: linux done"]
    got = lg.parse_pktgen(lines)
    want = {"ready": ("6.1.0-57-cloud-amd64", 3.95),
            "results": [(60, 1000, 377340, 2000012000)],
            "errors": ["pktgen size=60 clone=0: ran 0 us",
                       "pktgen size=60 clone=1000: sent 0 packets in 146 us",
                       "size=60 clone=7 pktgen refused 'clone_skb 7'",
                       "unexpected line: bench: linux pktgen size=60 clone=x pkts=6414 "
                       "usec=307461",
                       "no eth0 after 10 s (is the NIC attached, and its driver in "
                       "/etc/net-modules?)"],
            "done": True}
    check(got == want, f"parsed {got}")
    check(lg.pktgen_cmdline([(60, 1000), (60, 0)], 500) ==
          "console=ttyS0 quiet panic=-1 pktgen_ms=500 pktgen_jobs=60:1000,60:0",
          f"cmdline {lg.pktgen_cmdline([(60, 1000), (60, 0)], 500)}")


def check_verdicts():
    """Ratios pair each Maple boot with the Linux boot of the same index; the TX target is met
    only on the whole IQR of three; nullnet's crossing is judged at batch 32 only."""
    key = ("virtio_net", "indomain", "tx", 64, 32)
    linux = [{"boot": i, "results": {(60, 1000): (100 * i, 10**9), (60, 0): (50 * i, 10**9)}}
             for i in (1, 2, 3)]
    maple = [{"boot": i, "results": {key: (200 * i, 10**9, "-")}} for i in (3, 1, 2)]
    rows = nb.maple_rows([(linux[m["boot"] - 1], m) for m in maple])
    r = rows[0]
    check(len(rows) == 1 and r["ratio"][1000].median == 2.0 and r["ratio"][0].median == 4.0
          and r["target"] and nb.judged(r["ratio"][1000], nb.TX_TARGET, 3) == ">= 1.5x: met",
          f"rows {rows}")
    check(nb.judged(r["ratio"][1000], 1.5, 2) == ">= 1.5x: not judged (fewer than 3 boots)",
          "two boots judged")
    # igb against pktgen on igb: at least 1x, and only igb's rows when asked for igb's.
    igb = ("igb", "crossing", "tx", 64, 32)
    maple_igb = [{"boot": i, "results": {igb: (95 * i, 10**9, "-"), key: (1, 10**9, "-")}}
                 for i in (1, 2, 3)]
    rows = nb.maple_rows([(linux[m["boot"] - 1], m) for m in maple_igb], drivers=("igb",))
    r = rows[0]
    check(len(rows) == 1 and r["key"] == igb and r["target"] == nb.IGB_TARGET == 1.0
          and nb.judged(r["ratio"][1000], r["target"], 3) == ">= 1x: missed",
          f"igb rows {rows}")
    check(nb.linux_rows(linux)[1000].median == 200.0, f"linux {nb.linux_rows(linux)}")
    m = {"results": {("nullnet", "indomain", "tx", 64, 32): (100, 10**9, "-"),
                     ("nullnet", "crossing", "tx", 64, 32): (69, 10**9, "-"),
                     ("nullnet", "indomain", "tx", 64, 1): (100, 10**9, "-"),
                     ("nullnet", "crossing", "tx", 64, 1): (10, 10**9, "-")}}
    rows = nb.crossing_rows([m] * 3)
    check([(k, iv.median, goal) for k, iv, goal in rows] ==
          [(("nullnet", "tx", 64, 1), 0.1, None), (("nullnet", "tx", 64, 32), 0.69, 0.7)],
          f"crossing rows {rows}")
    check(nb.judged(rows[1][1], 0.7, 3) == ">= 0.7x: missed", "69% met the 70% target")
    calm = {"pkts": 95, "ns": 10**9, "calm_pkts": 100, "calm_ns": 10**9, "strikes": 10,
            "errors": 0, "lost": 0}
    check(nb.crash_row([calm] * 3)["verdict"] == "met", "95% kept, nothing lost: not met")
    got = nb.crash_row([calm, calm, dict(calm, lost=1)])["verdict"]
    check(got == "missed (1 buffers lost, 0 failed calls)", f"a lost buffer: {got}")


def check_refusals():
    for argv, want in ((["--ms", "5"], "bench/net: error: --ms 5: must be from 100 to 60000"),
                       (["--runs", "0"], "bench/net: error: argument --runs: 0 is less than 1")):
        r = subprocess.run([os.path.join(ROOT, "bench/net"), *argv], capture_output=True,
                           text=True)
        last = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
        check(r.returncode == 2 and last == want and "Traceback" not in r.stderr,
              f"bench/net {' '.join(argv)}: status {r.returncode}, said {last!r}")


def check_pktgen_boot():
    """The guest loads virtio-net and pktgen, sends with clone_skb 1000 into the hub's sink,
    and refuses a clone_skb that is not a number (pktgen itself takes it as 0)."""
    guest = lg.build(progress=lambda s: progress(f"linux guest: {s}"))
    release = lg.manifest(guest)["kernel"]["release"]
    cfg = Config(firmware="bios", smp=2, extra=nb.TX_NET,
                 cmdline=lg.pktgen_cmdline([(60, 1000), (60, "x")], 300),
                 kernel=os.path.join(guest, "vmlinuz"),
                 modules=[os.path.join(guest, "initrd.img")])
    with vm("netbench/linux-pktgen-virtio-net", cfg) as v:
        v.wait_for(lg.DONE, 180, what="`bench: linux done`", idle=90)
        got = lg.parse_pktgen(v.text())
        v.wait_exit(30)
    check(got["ready"] and got["ready"][0] == release,
          f"ready line {got['ready']}, expected kernel {release}")
    check(len(got["results"]) == 1 and got["results"][0][:2] == (60, 1000)
          and got["results"][0][2] > 0 and got["results"][0][3] >= 100_000_000,
          f"results {got['results']}: expected one pkt_size 60 clone_skb 1000 run of at least "
          "100 ms (300 ms asked; pktgen's own count of its run, which a loaded host shortens: "
          "232 ms seen)")
    check(got["errors"] == ["size=60 clone=x not numbers"],
          f"errors {got['errors']}")
    progress(f"linux guest: pktgen on virtio-net: {got['results'][0][2]} packets in "
             f"{got['results'][0][3] / 1e9:.3f} s (a check, not a measurement)")


def run():
    test("netbench/maple-parse", check_maple_parse)
    test("netbench/crash-parse", check_crash_parse)
    test("netbench/pktgen-parse", check_pktgen_parse)
    test("netbench/verdicts", check_verdicts)
    test("netbench/refusals", check_refusals)
    test("netbench/linux-pktgen", check_pktgen_boot)
