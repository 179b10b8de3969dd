"""Generated corpora for the benchmarks (nothing large is committed).

Every document is in libvirt's own layout (what ``virsh checkpoint-dumpxml`` prints), so the
benchmarks measure the path real streams take. Three shapes:

* ``small``: a checkpoint without a domain (name, description, parent, creationTime, 2 disks);
* ``full``: a checkpoint with a full nested ``<domain>``, shaped like libvirt's
  ``qemudomaincheckpointxml2xmlout/redefine.xml`` (about 1.7-2.4 KB each);
* ``vm``: like ``full``, but every document carries the same domain (one VM's checkpoint chain);
* ``disks20k``: one document with 20,000 disks (and a domain);
* ``mixed``: like ``full``, but each VM's domain has one of 64 structures (how many disks, backing
  stores, network interfaces, optional devices and features): structures recur, values do not;
* ``unique``: like ``mixed``, but every domain has a structure of its own (the worst case for
  what the fast path learns from earlier documents).
"""

from __future__ import annotations

import os
import random
from typing import Iterator

SHAPES = ("small", "full", "vm", "disks20k", "mixed", "unique")


def small_doc(i: int) -> str:
    return (
        "<domaincheckpoint>\n"
        f"  <name>c{i}</name>\n"
        f"  <description>nightly checkpoint {i}</description>\n"
        "  <parent>\n"
        f"    <name>c{i - 1}</name>\n"
        "  </parent>\n"
        f"  <creationTime>{1553647812 + i}</creationTime>\n"
        "  <disks>\n"
        f"    <disk name='vda' checkpoint='bitmap' bitmap='c{i}'/>\n"
        "    <disk name='vdb' checkpoint='no'/>\n"
        "  </disks>\n"
        "</domaincheckpoint>\n"
    )


def _vd(k: int) -> str:
    """The k-th virtio target name: vda ... vdz, then vdaa, vdba, ..."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    return "vd" + letters[k % 26] + (letters[k // 26 - 1] if k >= 26 else "")


def domain_xml(i: int, ndisks: int = 4, indent: str = "  ") -> str:
    """A domain like redefine.xml's, with ``ndisks`` disks, indented by ``indent``."""
    disks = []
    for k in range(ndisks):
        dev = _vd(k)
        disks.append(
            "    <disk type='file' device='disk'>\n"
            "      <driver name='qemu' type='qcow2'/>\n"
            f"      <source file='/var/lib/libvirt/images/guest{i}-{dev}.qcow2'/>\n"
            f"      <target dev='{dev}' bus='virtio'/>\n"
            f"      <address type='pci' domain='0x0000' bus='0x00' slot='0x{3 + k % 20:02x}' function='0x0'/>\n"
            "    </disk>\n"
        )
    body = (
        "<domain type='kvm'>\n"
        f"  <name>guest{i}</name>\n"
        f"  <uuid>c7a5fdbd-edaf-9455-926a-{i:012x}</uuid>\n"
        "  <memory unit='KiB'>219136</memory>\n"
        "  <currentMemory unit='KiB'>219136</currentMemory>\n"
        "  <vcpu placement='static'>1</vcpu>\n"
        "  <os>\n"
        "    <type arch='x86_64' machine='pc'>hvm</type>\n"
        "    <boot dev='hd'/>\n"
        "  </os>\n"
        "  <clock offset='utc'/>\n"
        "  <on_poweroff>destroy</on_poweroff>\n"
        "  <on_reboot>restart</on_reboot>\n"
        "  <on_crash>destroy</on_crash>\n"
        "  <devices>\n"
        "    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
        + "".join(disks)
        + "    <controller type='usb' index='0'>\n"
        "      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x2'/>\n"
        "    </controller>\n"
        "    <controller type='pci' index='0' model='pci-root'/>\n"
        "    <input type='mouse' bus='ps2'/>\n"
        "    <input type='keyboard' bus='ps2'/>\n"
        "    <memballoon model='none'/>\n"
        "  </devices>\n"
        "</domain>"
    )
    return body.replace("\n", "\n" + indent)


def vm_doc(i: int, ndisks: int = 4) -> str:
    """A checkpoint of one VM's chain: like :func:`full_doc` but the domain is the same in every
    document (an archive of one VM's nightly checkpoints)."""
    doc = full_doc(i, ndisks)
    start = doc.index("  <domain ")
    return doc[:start] + "  " + domain_xml(7, ndisks) + "\n</domaincheckpoint>\n"


def full_doc(i: int, ndisks: int = 4) -> str:
    disk_lines = []
    for k in range(ndisks):
        dev = _vd(k)
        if k % 4 == 3:
            disk_lines.append(f"    <disk name='{dev}' checkpoint='no'/>\n")
        else:
            disk_lines.append(f"    <disk name='{dev}' checkpoint='bitmap' bitmap='c{i}'/>\n")
    return (
        "<domaincheckpoint>\n"
        f"  <name>c{i}</name>\n"
        + (f"  <parent>\n    <name>c{i - 1}</name>\n  </parent>\n" if i else "")
        + f"  <creationTime>{1553647812 + i}</creationTime>\n"
        "  <disks>\n" + "".join(disk_lines) + "  </disks>\n"
        "  " + domain_xml(i, ndisks) + "\n"
        "</domaincheckpoint>\n"
    )


def big_doc(ndisks: int = 20000) -> str:
    """One checkpoint with ``ndisks`` checkpoint disks (the domain keeps 4 for its own shape)."""
    lines = []
    for k in range(ndisks):
        name = f"sd{_letters(k)}"
        if k % 5 == 4:
            lines.append(f"    <disk name='{name}' checkpoint='no'/>\n")
        else:
            lines.append(f"    <disk name='{name}' checkpoint='bitmap' bitmap='big'/>\n")
    return (
        "<domaincheckpoint>\n"
        "  <name>big</name>\n"
        "  <creationTime>1553647812</creationTime>\n"
        "  <disks>\n" + "".join(lines) + "  </disks>\n"
        "  " + domain_xml(0) + "\n"
        "</domaincheckpoint>\n"
    )


def _letters(k: int) -> str:
    out = ""
    k += 1
    while k:
        k, r = divmod(k - 1, 26)
        out = "abcdefghijklmnopqrstuvwxyz"[r] + out
    return out


_OPTIONAL_DEVICES = (
    "<input type='tablet' bus='usb'/>",
    "<sound model='ich9'/>",
    "<watchdog model='i6300esb' action='reset'/>",
    "<rng model='virtio'/>",
    "<panic model='isa'/>",
    "<hub type='usb'/>",
    "<redirdev bus='usb' type='spicevmc'/>",
    "<smartcard mode='passthrough' type='spicevmc'/>",
    "<video/>",
    "<tpm model='tpm-crb'/>",
    "<iommu model='intel'/>",
    "<vsock model='virtio'/>",
)


def varied_domain(i: int, structure: int, devices: int = 0) -> tuple[str, int]:
    """VM ``i``'s domain (its own name, uuid, paths and MAC addresses), whose structure is chosen
    by ``structure`` and by the bits of ``devices`` (which of 12 optional devices it has); and its
    number of disks. Indented for nesting in a checkpoint."""
    pick = random.Random(structure)
    ndisks = pick.randint(1, 8)
    disks = []
    for k in range(ndisks):
        dev = _vd(k)
        disks.append(
            "    <disk type='file' device='disk'>\n"
            f"      <driver name='qemu' type='{pick.choice(['qcow2', 'raw'])}'/>\n"
            f"      <source file='/var/lib/libvirt/images/guest{i}-{dev}.qcow2'/>\n"
            + ("      <backingStore/>\n" if pick.random() < 0.5 else "")
            + f"      <target dev='{dev}' bus='virtio'/>\n"
            f"      <address type='pci' domain='0x0000' bus='0x00' slot='0x{3 + k % 20:02x}' function='0x0'/>\n"
            "    </disk>\n"
        )
    nics = "".join(
        "    <interface type='network'>\n"
        f"      <mac address='52:54:00:{i % 256:02x}:{i // 256 % 256:02x}:{n:02x}'/>\n"
        "      <source network='default'/>\n"
        "      <model type='virtio'/>\n"
        "    </interface>\n"
        for n in range(pick.randint(0, 3))
    )
    extras = ""
    if pick.random() < 0.5:
        extras += "    <graphics type='vnc' port='-1' autoport='yes'>\n      <listen type='address'/>\n    </graphics>\n"
    if pick.random() < 0.5:
        extras += "    <serial type='pty'>\n      <target port='0'/>\n    </serial>\n"
    if pick.random() < 0.3:
        extras += "    <channel type='unix'>\n      <target type='virtio' name='org.qemu.guest_agent.0'/>\n    </channel>\n"
    features = "  <features>\n    <acpi/>\n    <apic/>\n  </features>\n" if pick.random() < 0.6 else ""
    body = (
        "<domain type='kvm'>\n"
        f"  <name>guest{i}</name>\n"
        f"  <uuid>c7a5fdbd-edaf-9455-926a-{i:012x}</uuid>\n"
        f"  <memory unit='KiB'>{pick.choice([219136, 1048576, 4194304])}</memory>\n"
        "  <currentMemory unit='KiB'>219136</currentMemory>\n"
        f"  <vcpu placement='static'>{pick.randint(1, 8)}</vcpu>\n"
        "  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n    <boot dev='hd'/>\n  </os>\n"
        + features
        + "  <clock offset='utc'/>\n  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n"
        "  <on_crash>destroy</on_crash>\n"
        "  <devices>\n    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
        + "".join(disks)
        + nics
        + extras
        + "".join(f"    {line}\n" for bit, line in enumerate(_OPTIONAL_DEVICES) if devices >> bit & 1)
        + "    <input type='mouse' bus='ps2'/>\n    <memballoon model='none'/>\n  </devices>\n</domain>"
    )
    return body.replace("\n", "\n  "), ndisks


def varied_doc(i: int, structure: int, devices: int = 0) -> str:
    """A checkpoint of VM ``i`` (see :func:`varied_domain`), shaped like :func:`full_doc`."""
    domain, ndisks = varied_domain(i, structure, devices)
    disk_lines = "".join(
        f"    <disk name='{_vd(k)}' checkpoint='no'/>\n" if k % 4 == 3 else f"    <disk name='{_vd(k)}' checkpoint='bitmap' bitmap='c{i}'/>\n"
        for k in range(ndisks)
    )
    return (
        "<domaincheckpoint>\n"
        f"  <name>c{i}</name>\n"
        f"  <parent>\n    <name>c{i - 1}</name>\n  </parent>\n"
        f"  <creationTime>{1553647812 + i}</creationTime>\n"
        "  <disks>\n" + disk_lines + "  </disks>\n"
        "  " + domain + "\n"
        "</domaincheckpoint>\n"
    )


def documents(shape: str, count: int | None = None) -> list[bytes]:
    """``count`` documents of one shape, as separate byte strings."""
    if shape == "small":
        return [small_doc(i + 1).encode() for i in range(count or 20000)]
    if shape == "full":
        return [full_doc(i + 1).encode() for i in range(count or 4000)]
    if shape == "vm":
        return [vm_doc(i + 1).encode() for i in range(count or 4000)]
    if shape == "disks20k":
        return [big_doc().encode() for _ in range(count or 1)]
    if shape == "mixed":
        return [varied_doc(i + 1, random.Random(i).randrange(64)).encode() for i in range(count or 4000)]
    if shape == "unique":
        return [varied_doc(i + 1, i, i).encode() for i in range(count or 4000)]  # 4,096 device sets
    raise ValueError(shape)


def stream(shape: str, count: int | None = None) -> bytes:
    """The documents of :func:`documents` concatenated: one stream."""
    return b"".join(documents(shape, count))


def endless(total_bytes: int, chunk_docs: int = 256) -> Iterator[bytes]:
    """Full-domain documents, generated on the fly, until ``total_bytes`` have been yielded."""
    template = [full_doc(i + 1).encode() for i in range(chunk_docs)]
    block = b"".join(template)
    sent = 0
    while sent < total_bytes:
        yield block
        sent += len(block)


def write_stream(path: str | os.PathLike[str], shape: str, count: int | None = None) -> int:
    data = stream(shape, count)
    with open(path, "wb") as fh:
        fh.write(data)
    return len(data)


# -- the realistic corpus: checkpoints around libvirt's own test domains --------------------------
#
# benchmarks/realistic/domains holds 175 real libvirt domain definitions (libvirt's test data, see
# realistic/ORIGIN.md). Each becomes a checkpoint of that VM: its name, a parent, a creationTime,
# a <disks> list naming every disk target of the domain (checkpoint='bitmap', none when the domain
# has no disk), then the domain. The same documents are laid out five ways:
#
# * ``libvirt``: what virsh prints: the checkpoint's children two spaces in, the domain's lines
#   two spaces more (the domain's own text kept as its file writes it: most are libvirt's output,
#   a few hand-written inputs keep their comments, blank lines or double quotes);
# * ``oneline``: the same text with no whitespace between markup (one line per document);
# * ``etree``: ElementTree's ``indent`` (4 spaces) and ``tostring`` (double quotes, ``" />"``,
#   comments dropped, namespace prefixes renamed ``ns0`` ...), as a producer that builds the
#   checkpoint with ElementTree writes it;
# * ``indent4`` and ``tab``: libvirt's layout with each level indented by 4 spaces or by a tab.
#
# ``chain=k`` repeats each VM's domain in k consecutive checkpoints (c1 ... ck, each the parent of
# the next): a backup archive of a fleet, one chain per VM.

REALISTIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "realistic", "domains")
REALISTIC_LAYOUTS = ("libvirt", "oneline", "etree", "indent4", "tab")
#: The realistic shapes the benchmarks measure: name -> (layout, checkpoints per VM's domain).
REALISTIC_SHAPES = {**{layout: (layout, 1) for layout in REALISTIC_LAYOUTS}, "chain5": ("libvirt", 5)}


def realistic_files() -> list[str]:
    """The domain files of the realistic corpus, sorted by name; empty when the folder is missing."""
    if not os.path.isdir(REALISTIC_DIR):
        return []
    return sorted(os.path.join(REALISTIC_DIR, f) for f in os.listdir(REALISTIC_DIR) if f.endswith(".xml"))


def _disk_targets(domain_text: str) -> list[str]:
    import xml.etree.ElementTree as ET

    root = ET.fromstring(domain_text.encode())
    return [dev for t in root.iterfind("devices/disk/target") if (dev := t.get("dev"))]


def realistic_checkpoint(domain_text: str, vm: int, n: int = 1) -> str:
    """Checkpoint ``c{n}`` of VM ``vm`` around ``domain_text`` (one domain file's text), in
    libvirt's layout."""
    name = f"vm{vm}-c{n}"
    disks = "".join(f"    <disk name='{dev}' checkpoint='bitmap' bitmap='{name}'/>\n" for dev in _disk_targets(domain_text))
    body = "\n".join(("  " + line) if line.strip() else "" for line in domain_text.rstrip("\n").split("\n"))
    return (
        "<domaincheckpoint>\n"
        f"  <name>{name}</name>\n"
        f"  <parent>\n    <name>vm{vm}-c{n - 1}</name>\n  </parent>\n"
        f"  <creationTime>{1700000000 + 86400 * n + vm}</creationTime>\n"
        + (f"  <disks>\n{disks}  </disks>\n" if disks else "")
        + body
        + "\n</domaincheckpoint>\n"
    )


def relayout(doc: str, layout: str) -> str:
    """A checkpoint in libvirt's layout (:func:`realistic_checkpoint`) laid out another way (see
    ``REALISTIC_LAYOUTS``)."""
    import re

    if layout == "libvirt":
        return doc
    if layout == "oneline":
        # whitespace between two pieces of markup only (a text holding anything else is kept)
        return re.sub(r">\s+<", "><", doc.strip()) + "\n"
    if layout in ("indent4", "tab"):
        unit = "    " if layout == "indent4" else "\t"
        out = []
        for line in doc.split("\n"):
            stripped = line.lstrip(" ")
            pad = len(line) - len(stripped)
            out.append(unit * (pad // 2) + " " * (pad % 2) + stripped if stripped.startswith("<") else line)
        return "\n".join(out)
    if layout == "etree":
        import xml.etree.ElementTree as ET

        root = ET.fromstring(doc.encode())
        for el in root.iter():  # indent() keeps texts that are not whitespace only
            if el.text is not None and not el.text.strip():
                el.text = None
            if el.tail is not None and not el.tail.strip():
                el.tail = None
        ET.indent(root, space="    ")
        return ET.tostring(root, encoding="unicode") + "\n"
    raise ValueError(layout)


def _realistic_all(layout: str, chain: int) -> list[tuple[str, bytes]]:
    out = []
    for vm, path in enumerate(realistic_files()):
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        for n in range(1, chain + 1):
            out.append((os.path.basename(path), relayout(realistic_checkpoint(text, vm, n), layout).encode()))
    return out


_REALISTIC_KEPT: dict[str, frozenset[str]] = {}


def realistic_refusals() -> dict[str, dict[str, str]]:
    """By layout: the domain files whose checkpoint ``checkpoint_stream.parse`` (default mode)
    refuses, with the error's first line."""
    import checkpoint_stream as cs

    out: dict[str, dict[str, str]] = {}
    for layout in REALISTIC_LAYOUTS:
        refused = out[layout] = {}
        for name, doc in _realistic_all(layout, 1):
            try:
                cs.parse(doc)
            except Exception as exc:  # a refusal: CheckpointError and its family
                refused[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return out


def realistic_kept() -> frozenset[str]:
    """The domain files whose checkpoint the default mode accepts in every layout (computed once)."""
    if "kept" not in _REALISTIC_KEPT:
        refused = set().union(*(r.keys() for r in realistic_refusals().values()))
        _REALISTIC_KEPT["kept"] = frozenset(os.path.basename(p) for p in realistic_files()) - refused
    return _REALISTIC_KEPT["kept"]


def realistic_documents(layout: str = "libvirt", chain: int = 1, kept_only: bool = True) -> list[bytes]:
    """The realistic corpus in one layout (``REALISTIC_LAYOUTS``), one checkpoint per domain file
    (``chain`` > 1: that many consecutive checkpoints per VM, its domain repeated), in file order.
    ``kept_only``: only the VMs whose checkpoint the default mode accepts in every layout, so that
    every layout holds the same documents. Empty when ``benchmarks/realistic/domains`` is missing."""
    if layout not in REALISTIC_LAYOUTS:
        raise ValueError(layout)
    docs = _realistic_all(layout, chain)
    if kept_only and docs:
        kept = realistic_kept()
        docs = [(name, d) for name, d in docs if name in kept]
    return [d for _, d in docs]


# -- snapshots (issue #14): <domainsnapshot> documents around the same domains ---------------------

SNAPSHOT_SHAPES = ("snapshot-realistic", "snapshot-realistic-chain5", "snapshot-vm")


def realistic_snapshot(domain_text: str, vm: int, n: int = 1) -> str:
    """Snapshot ``s{n}`` of VM ``vm`` around ``domain_text``, in libvirt's layout, as libvirt's
    QEMU driver writes a running VM's external snapshot: state, parent, memory file, each disk
    with its format and new file, the domain."""
    name = f"vm{vm}-s{n}"
    disks = "".join(
        f"    <disk name='{dev}' snapshot='external' type='file'>\n"
        f"      <driver type='qcow2'/>\n"
        f"      <source file='/var/lib/libvirt/images/vm{vm}-{dev}.{name}'/>\n"
        "    </disk>\n"
        for dev in _disk_targets(domain_text)
    )
    body = "\n".join(("  " + line) if line.strip() else "" for line in domain_text.rstrip("\n").split("\n"))
    return (
        "<domainsnapshot>\n"
        f"  <name>{name}</name>\n"
        f"  <description>nightly {n}</description>\n"
        "  <state>running</state>\n"
        f"  <parent>\n    <name>vm{vm}-s{n - 1}</name>\n  </parent>\n"
        f"  <creationTime>{1700000000 + 86400 * n + vm}</creationTime>\n"
        f"  <memory snapshot='external' file='/var/lib/libvirt/qemu/snapshot/vm{vm}/{name}.mem'/>\n"
        + (f"  <disks>\n{disks}  </disks>\n" if disks else "")
        + body
        + "\n</domainsnapshot>\n"
    )


def snapshot_documents(shape: str, count: int = 2000) -> list[bytes]:
    """``snapshot-realistic``: one snapshot per realistic domain file that the default mode
    accepts (first sight: every domain different); ``snapshot-realistic-chain5``: five per VM,
    its domain repeated; ``snapshot-vm``: ``count`` snapshots of 50 generated VMs (a fleet's
    archive: each domain recurs along its chain)."""
    import checkpoint_stream as cs

    if shape == "snapshot-vm":
        return [realistic_snapshot(domain_xml(i % 50), i % 50, i // 50 + 1).encode() for i in range(count)]
    chain = 5 if shape == "snapshot-realistic-chain5" else 1
    out = []
    for vm, path in enumerate(realistic_files()):
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        docs = [realistic_snapshot(text, vm, n).encode() for n in range(1, chain + 1)]
        try:
            cs.parse(docs[0], kinds="snapshot")
        except Exception:  # a domain the built-in rules refuse: left out, as for checkpoints
            continue
        out += docs
    return out
