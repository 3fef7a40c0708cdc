"""libvirt's embedded QEMU driver as Maple uses it, for ci/libvirt-test and for
running by hand (images/libvirt-define): `qemu:///embed?root=DIR`.

The driver runs inside each virsh process with its configuration, state,
capability cache and logs in DIR; QEMU, once started, outlives the virsh that
started it, and a later virsh with the same root finds it again. Nothing else on
the machine changes, and it needs no daemon and no package beyond what ci/setup
installs (docs/architecture.md, "libvirt", says why not qemu:///system).
"""
import os

# The embedded driver's configuration. libvirt runs QEMU, and probes it, as
# `user`:`group`; this process's own ids make the probe and libvirt's later
# check of /dev/kvm agree, whoever runs it. The rest keeps the driver off the
# machine: no virtlogd (QEMU writes its log file itself), no cgroups, no
# private /dev to build, no security labels and no remembered owners (xattrs
# on the firmware files), so no file changes owner.
QEMU_CONF = """\
# Written by {writer} for its embedded driver (qemu:///embed?root={root}).
user = "+{uid}"
group = "+{gid}"
stdio_handler = "file"
cgroup_controllers = [ ]
namespaces = [ ]
security_driver = "none"
dynamic_ownership = 0
remember_owner = 0
"""


def on_one_cpu():
    """A preexec_fn that keeps a virsh (and the driver inside it) on one CPU.

    libvirt 9.0 keeps the host's CPUID beside each QEMU capability cache file
    and probes QEMU again whenever the CPUID it reads differs ("Outdated
    capabilities ...: host cpuid changed" in its debug log). On some virtual
    machines the vCPUs answer CPUID differently (seen here: an Intel Xeon guest
    whose two vCPUs disagree), so a virsh that lands on the other CPU threw the
    cache away, and every call probed both QEMU binaries again (5-25 s each on
    a busy TCG host). Always the lowest CPU this process may run on. QEMU itself
    is not held there: libvirt sets the affinity of the QEMU it starts to every
    online CPU unless the domain XML pins it (qemuProcessInitCpuAffinity)."""
    cpu = min(os.sched_getaffinity(0))
    return lambda: os.sched_setaffinity(0, {cpu})


def embedded_driver(root, writer):
    """Write root/etc/qemu.conf (QEMU runs as this process's user) and return
    the driver's URI. root must be an absolute path."""
    etc = os.path.join(root, "etc")
    os.makedirs(etc, exist_ok=True)
    with open(os.path.join(etc, "qemu.conf"), "w") as f:
        f.write(QEMU_CONF.format(writer=writer, root=root, uid=os.getuid(), gid=os.getgid()))
    return f"qemu:///embed?root={root}"
