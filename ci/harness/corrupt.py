"""Broken kernels and ESPs for the loader's error-path tests.

The ESP helpers (esp_read, esp_write, esp_delete) change one file of a built
image in place, the way a bad disk or a careless copy would, leaving the boot
manifest that images/mkesp wrote as it was.

Each mutation takes the bytes of a good kernel.elf and returns a copy with
exactly one defect, keeping the rest valid so that the loader's report has to
name that defect. ELF64 layouts: System V gABI, "ELF Header" and "Program
Header" (e_phoff at 0x20, e_phentsize at 0x36, e_phnum at 0x38; p_offset at
8, p_vaddr 16, p_paddr 24, p_filesz 32, p_memsz 40).
"""
import os
import struct
import subprocess

PT_LOAD = 1
PAGE = 0x1000


class CorruptError(Exception):
    pass


def load_segments(data):
    """[(index, file offset of the phdr, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz)]."""
    if data[:4] != b"\x7fELF" or data[4] != 2:
        raise CorruptError("kernel.elf: not an ELF64 file; cannot derive broken copies")
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    segs = []
    for i in range(phnum):
        at = phoff + i * phentsize
        p_type, = struct.unpack_from("<I", data, at)
        if p_type == PT_LOAD:
            off, vaddr, paddr, filesz, memsz = struct.unpack_from("<QQQQQ", data, at + 8)
            segs.append((i, at, off, vaddr, paddr, filesz, memsz))
    if not segs:
        raise CorruptError("kernel.elf: no PT_LOAD segments")
    return segs


def bad_magic(data):
    d = bytearray(data)
    d[0:4] = b"MAPL"
    return bytes(d)


def truncated(data):
    """Cut the file in the middle of the last segment's bytes (headers intact)."""
    segs = load_segments(data)
    _, _, off, _, _, filesz, _ = max((s for s in segs if s[5]), key=lambda s: s[2] + s[5])
    cut = off + filesz // 2
    if cut >= len(data):
        raise CorruptError("kernel.elf: last segment ends past the file already")
    return data[:cut]


def overlapping(data):
    """Move the second PT_LOAD (by address) onto the first one's pages.

    Both p_vaddr and p_paddr move by the same page-multiple amount, so the
    image stays flat and each segment's offset within its page is unchanged:
    the overlap is the only defect.
    """
    segs = sorted(load_segments(data), key=lambda s: s[4])
    if len(segs) < 2:
        raise CorruptError("kernel.elf: fewer than two PT_LOAD segments to overlap")
    first, second = segs[0], segs[1]
    base = (first[4] & ~(PAGE - 1)) + (second[4] & (PAGE - 1))
    if base < first[4]:
        base += PAGE
    if base >= first[4] + first[6]:
        raise CorruptError("kernel.elf: first segment too small to overlap page-wise")
    delta = base - second[4]
    d = bytearray(data)
    at = second[1]
    struct.pack_into("<QQ", d, at + 16, second[3] + delta, second[4] + delta)
    return bytes(d)


def header_field(offset, fmt, value):
    """A mutation that writes one ELF header field: e_ident[EI_CLASS] at 4,
    e_type at 0x10, e_machine at 0x12 (gABI "ELF Header")."""
    def mutate(data):
        d = bytearray(data)
        struct.pack_into(fmt, d, offset, value)
        return bytes(d)
    return mutate


EM_AARCH64, ELFCLASS32, ET_DYN = 183, 1, 3

MUTATIONS = {"bad-magic": bad_magic, "truncated": truncated,
             "overlapping-segments": overlapping,
             "machine-aarch64": header_field(0x12, "<H", EM_AARCH64),
             "class-32": header_field(4, "<B", ELFCLASS32),
             "type-dyn": header_field(0x10, "<H", ET_DYN)}


def fat_offset(image):
    """Byte offset of the FAT file system in an ESP image: 0, or its partition's start."""
    with open(image, "rb") as f:
        head = f.read(1024)
    if len(head) < 1024:
        raise CorruptError(f"{image}: too small to be an ESP")
    if head[510:512] == b"\x55\xaa" and (head[0x36:0x39] == b"FAT" or head[0x52:0x55] == b"FAT"):
        return 0
    if head[512:520] == b"EFI PART":  # UEFI spec 5.3.2: GPT header in LBA 1
        entries_lba, = struct.unpack_from("<Q", head, 512 + 72)
        with open(image, "rb") as f:
            f.seek(entries_lba * 512)
            entry = f.read(128)
        first_lba, = struct.unpack_from("<Q", entry, 32)
        return first_lba * 512
    if head[510:512] == b"\x55\xaa":  # MBR, first partition entry at 0x1be
        start, = struct.unpack_from("<I", head, 0x1be + 8)
        return start * 512
    raise CorruptError(f"{image}: no FAT file system, GPT or MBR found")


def esp_delete(image, path):
    """Delete a file (like `maple/kernel.elf`) from an ESP image with mtools."""
    _mtools(image, ["mdel", "::/" + path], f"mdel {path}")


def esp_list(image):
    """Every file path in an ESP image (lowercase is not forced: as stored)."""
    target = f"{image}@@{fat_offset(image)}"
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    r = subprocess.run(["mdir", "-i", target, "-/", "-b", "::/"], capture_output=True,
                       text=True, env=env, timeout=30)
    if r.returncode != 0 and "not found" in r.stderr and not r.stdout.strip():
        return []  # mdir's answer for an empty file system
    if r.returncode != 0:
        raise CorruptError(f"mdir {image}: {r.stderr.strip() or r.returncode}")
    return [s.strip()[3:] for s in r.stdout.splitlines() if s.strip().startswith("::/")]


def _mtools(image, argv, what):
    target = f"{image}@@{fat_offset(image)}"
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1", MTOOLSRC="/dev/null")
    r = subprocess.run([argv[0], "-i", target, *argv[1:]], capture_output=True, text=True,
                       env=env, timeout=30)
    if r.returncode != 0:
        raise CorruptError(f"{what} in {image}: {r.stderr.strip() or r.returncode}")


def esp_read(image, path, workdir):
    """The bytes of a file (like `maple/kernel.elf`) in an ESP image."""
    out = os.path.join(workdir, "esp-read.bin")
    _mtools(image, ["mcopy", "-n", "::/" + path, out], f"mcopy {path} out")
    with open(out, "rb") as f:
        return f.read()


def esp_write(image, path, data, workdir):
    """Put `data` in the ESP image as `path`, replacing any file there."""
    src = os.path.join(workdir, "esp-write.bin")
    with open(src, "wb") as f:
        f.write(data)
    _mtools(image, ["mcopy", "-o", src, "::/" + path], f"mcopy {path} in")


def flip_bit(data, offset, bit):
    """data with bit `bit` of byte `offset` inverted."""
    d = bytearray(data)
    d[offset] ^= 1 << bit
    return bytes(d)
