"""Archives of checkpoint documents for the chain tests: documents libvirt's test driver accepts
on REDEFINE (creationTime, a definable domain, disks the domain has), laid out as a folder, a
tar archive or a concatenated stream."""

from __future__ import annotations

import io
import os
import re
import tarfile
from dataclasses import dataclass, field
from typing import Iterable, Sequence

UUIDS = {
    "web": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
    "db": "6f1c0b2e-93a4-4c2d-8e5f-2a7b9c0d1e3f",
}


def domain(vm: str = "web", uuid: str | None = None, disks: Sequence[str] = ("vda", "vdb"), indent: str = "  ") -> str:
    uuid = uuid or UUIDS[vm]
    lines = [
        "<domain type='test'>",
        f"  <name>{vm}</name>",
        f"  <uuid>{uuid}</uuid>",
        "  <memory unit='KiB'>1048576</memory>",
        "  <currentMemory unit='KiB'>1048576</currentMemory>",
        "  <vcpu placement='static'>1</vcpu>",
        "  <os>",
        "    <type arch='x86_64'>hvm</type>",
        "  </os>",
        "  <devices>",
    ]
    for target in disks:
        lines += [
            "    <disk type='file' device='disk'>",
            f"      <source file='/var/lib/libvirt/images/{vm}-{target}.qcow2'/>",
            f"      <target dev='{target}' bus='virtio'/>",
            "    </disk>",
        ]
    lines += ["  </devices>", "</domain>"]
    return "\n".join(indent + line for line in lines)


@dataclass
class Doc:
    """One checkpoint document; ``disks`` maps disk name to (mode, bitmap)."""

    name: str
    parent: str | None = None
    time: int = 1000
    vm: str | None = "web"
    uuid: str | None = None
    disks: dict[str, tuple[str, str | None]] | None = None
    description: str | None = None
    raw: str | None = None  # the document as given (a broken one, say)
    path: str | None = None  # where it goes in a folder or archive

    def xml(self) -> str:
        if self.raw is not None:
            return self.raw
        disks = self.disks if self.disks is not None else {"vda": ("bitmap", None), "vdb": ("bitmap", None)}
        out = ["<domaincheckpoint>", f"  <name>{self.name}</name>"]
        if self.description is not None:
            out.append(f"  <description>{self.description}</description>")
        if self.parent is not None:
            out += ["  <parent>", f"    <name>{self.parent}</name>", "  </parent>"]
        out.append(f"  <creationTime>{self.time}</creationTime>")
        out.append("  <disks>")
        for disk, (mode, bitmap) in disks.items():
            extra = f" bitmap='{bitmap}'" if bitmap is not None and mode == "bitmap" else ""
            out.append(f"    <disk name='{disk}' checkpoint='{mode}'{extra}/>")
        out.append("  </disks>")
        if self.vm is not None:
            out.append(domain(self.vm, self.uuid, tuple(disks) or ("vda",)))
        out.append("</domaincheckpoint>")
        return "\n".join(out) + "\n"

    def file_name(self, number: int) -> str:
        return self.path or f"{self.vm or 'novm'}/{self.name}.xml"


def chain_docs(count: int, prefix: str = "virtnbdbackup.", vm: str = "web", start: int = 0, t0: int = 1_700_000_000) -> list[Doc]:
    """A straight chain: prefix0 <- prefix1 <- ... (numbered like virtnbdbackup's files)."""
    docs = []
    for i in range(start, start + count):
        parent = f"{prefix}{i - 1}" if i > start else None
        docs.append(Doc(f"{prefix}{i}", parent, t0 + 60 * i, vm=vm))
    return docs


@dataclass
class Archive:
    """The same documents in any layout; ``refs`` are the libvirt-chain-oracle references."""

    root: str
    kind: str
    entry: str  # what the tool is pointed at
    refs: dict[str, str] = field(default_factory=dict)  # location printed by the tool -> oracle ref


def write_folder(root: str, docs: Iterable[Doc]) -> Archive:
    archive = Archive(root, "folder", root)
    for number, doc in enumerate(docs):
        rel = doc.file_name(number)
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.exists(path):
            base, ext = os.path.splitext(path)
            path = f"{base}.copy{number}{ext}"
            rel = os.path.relpath(path, root)
        with open(path, "w", encoding="utf-8") as f:
            f.write(doc.xml())
        archive.refs[path] = rel
    return archive


def write_tar(root: str, docs: Iterable[Doc]) -> Archive:
    os.makedirs(root, exist_ok=True)
    path = os.path.join(root, "archive.tar.gz")
    archive = Archive(root, "tar", path)
    seen: set[str] = set()
    with tarfile.open(path, "w:gz") as tf:
        for number, doc in enumerate(docs):
            member = doc.file_name(number)
            if member in seen:
                member = member.replace(".xml", f".copy{number}.xml")
            seen.add(member)
            data = doc.xml().encode()
            info = tarfile.TarInfo(member)
            info.size = len(data)
            info.mtime = 1_700_000_000 + number
            tf.addfile(info, io.BytesIO(data))
            archive.refs[f"{path}:{member}"] = f"archive.tar.gz::{member}"
    return archive


def write_stream(root: str, docs: Iterable[Doc]) -> Archive:
    os.makedirs(root, exist_ok=True)
    path = os.path.join(root, "stream.xml")
    archive = Archive(root, "stream", path)
    data = bytearray()
    for doc in docs:
        text = doc.xml().encode()
        start = len(data)
        data += text
        end = start + len(text.rstrip(b"\n"))
        archive.refs[f"{path}@{start}:{end - start}"] = f"stream.xml@{start}:{end - start}"
    with open(path, "wb") as f:
        f.write(data)
    return archive


WRITERS = {"folder": write_folder, "tar": write_tar, "stream": write_stream}


def comparable(found: Iterable[object]) -> list[dict]:
    """Chains as dicts with what depends on where the documents came from left out (a problem's
    source, the document index in its message): for comparing analyses of the same archive
    read in other orders or forms."""
    out = []
    for ch in found:
        d = ch.to_dict()  # type: ignore[attr-defined]
        for p in d["problems"]:
            p.pop("source")
            p["message"] = re.sub(r"<input>( document \d+)?", "<input>", p["message"])
        out.append(d)
    return out
