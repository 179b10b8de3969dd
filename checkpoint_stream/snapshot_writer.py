"""Write snapshot records as libvirt 9.0 writes them (``virDomainSnapshotDefFormatInternal``,
snapshot spec S.6), byte for byte.

The element order is the snapshot grammar's layout and each element's attribute order its rule's
(:mod:`.grammar.snapshot`), so a rule changed there is printed in its new place; how a value
becomes text (escaping, the nested domains re-indented, secrets stripped without ``secure``) is
the checkpoint writer's own (:mod:`.writer`). libvirt has two format flags for snapshots:
SECURE and the internal format's ``<active>``; there is no NO_DOMAIN and no SIZE.
"""

from __future__ import annotations

from typing import Callable

from .grammar.snapshot import SNAPSHOT
from .markup.indentation import indent
from .records import Domain, Snapshot, SnapshotDisk

__all__ = ["snapshot_xml"]


def _attributes(rule_key: str, values: dict[str, str | None], escape: Callable[[str], str]) -> str:
    """`` name='value'`` for each attribute of the rule, in the rule's order, that has a value."""
    return "".join(f" {name}='{escape(values[name])}'" for name in SNAPSHOT.rules[rule_key].attributes if values.get(name) is not None)  # type: ignore[arg-type]


def _disk(disk: SnapshotDisk, escape: Callable[[str], str]) -> str:
    """One ``<disk>`` (``virDomainSnapshotDiskDefFormat``): ``type`` and the children only when
    the disk has a path or a format."""
    path = disk.path
    full = path is not None or disk.driver is not None
    head = "    <disk" + _attributes("disk", {"name": disk.name, "snapshot": disk.snapshot, "type": disk.type if full else None}, escape)
    children = []
    if disk.delete_in_progress:
        children.append("      <snapshotDeleteInProgress/>\n")
    if full:
        driver = _attributes("disk/driver", {"type": disk.driver}, escape)
        if disk.max_size:
            children.append(
                f"      <driver{driver}>\n        <metadata_cache>\n"
                f"          <max_size unit='bytes'>{disk.max_size}</max_size>\n        </metadata_cache>\n      </driver>\n"
            )
        elif driver:
            children.append(f"      <driver{driver}/>\n")
        if disk.source is not None:
            children.append("      " + indent(disk.source, 6) + "\n")
    if not children:
        return head + "/>\n"
    return head + ">\n" + "".join(children) + "    </disk>\n"


def snapshot_xml(
    record: Snapshot,
    *,
    secure: bool = False,
    internal: bool = False,
    uuid: str | None = None,
    escape: Callable[[str], str],
    domain_text: Callable[[Domain, bool], str],
) -> str:
    """The document for ``record``. ``internal`` prints ``<active>`` (1 when the record is
    active); ``uuid`` is the domain uuid libvirt's formatter is given: printed as an old-style
    ``<domain><uuid>`` when the record holds no domain (libvirt's drivers always give it)."""
    r = record
    out = ["<domainsnapshot>\n"]
    for tag in SNAPSHOT.layout:
        if tag == "name":
            if r.name is not None:
                out.append(f"  <name>{escape(r.name)}</name>\n")
        elif tag == "description":
            if r.description:
                out.append(f"  <description>{escape(r.description)}</description>\n")
        elif tag == "state":
            if r.state:
                out.append(f"  <state>{escape(r.state)}</state>\n")
        elif tag == "parent":
            if r.parent is not None:
                out.append(f"  <parent>\n    <name>{escape(r.parent)}</name>\n  </parent>\n")
        elif tag == "creationTime":
            if r.creation_time:
                out.append(f"  <creationTime>{r.creation_time}</creationTime>\n")
        elif tag == "memory":
            if r.memory is not None:
                out.append("  <memory" + _attributes("memory", {"snapshot": r.memory, "file": r.memory_file}, escape) + "/>\n")
        elif tag == "disks":
            if r.disks:
                out.append("  <disks>\n" + "".join(_disk(d, escape) for d in r.disks) + "  </disks>\n")
        elif tag == "domain":
            if r.domain is not None:
                out.append(domain_text(r.domain, secure))
            elif uuid is not None:
                out.append(f"  <domain>\n    <uuid>{escape(uuid)}</uuid>\n  </domain>\n")
        elif tag == "inactiveDomain":
            if r.inactive_domain is not None:
                out.append(domain_text(r.inactive_domain, secure))
        elif tag == "cookie":
            if r.cookie is not None:
                out.append("  " + indent(r.cookie, 2) + "\n")
        elif tag == "active":
            if internal:
                out.append(f"  <active>{1 if r.active else 0}</active>\n")
        else:  # pragma: no cover - a layout entry without a printer is a programming error
            raise AssertionError(f"no printer for <{tag}>")
    out.append("</domainsnapshot>\n")
    return "".join(out)
