"""The machine a benchmark ran on, for bench/results: CPU, cores, OS, accelerator, QEMU, commit.

`stamp` (UTC date and time, to the second) names a run's result files."""
import datetime
import os
import platform
import subprocess

from .qemu import ROOT, pick_accel


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        qemu = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True,
                              text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        qemu = "unknown"
    commit = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                            capture_output=True, text=True).stdout.strip() or "unknown"
    now = datetime.datetime.now(datetime.timezone.utc)
    return {
        "date": now.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "stamp": now.strftime("%Y-%m-%d-%H%M%S"),
        "cpu": model,
        "cores": str(os.cpu_count()),
        "host os": f"{platform.system()} {platform.release()}",
        "accel": pick_accel().describe()[len("accel: "):],
        "qemu": qemu,
        "commit": commit,
    }
