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
