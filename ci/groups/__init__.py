"""ci/test's test groups, one module each, in the order they run.

A group is a module here with a docstring that opens `name: what it checks`
and a `run()` that reports each of its tests through common.tally (usually by
common.test). Add one by writing ci/groups/<name>.py and putting its name in
ORDER; `--only` and `--skip` take these names.
"""
import importlib

ORDER = ["format", "tools", "harness", "unit", "fuzz", "boot", "image", "ktest", "loader",
         "hosted", "cmdline", "ctl", "console", "pci", "net", "igb", "netrx", "ixgbe_model",
         "model_fuzz", "ixgbe", "domains", "recovery", "faults", "hostedfaults", "nvme", "chaos", "panic",
         "nvmebench", "netbench", "libvirt", "byhand"]
GROUPS = {name: importlib.import_module(f"{__name__}.{name}") for name in ORDER}


def describe():
    """Each group's docstring, for ci/test --help."""
    return "\n".join("  " + GROUPS[name].__doc__.strip().replace("\n", "\n    ")
                     for name in ORDER)
