"""The facts checkpoints need from a domain kept as text: its type, name, uuid and disks.

Read once, lazily, when a record's ``Domain`` is first asked for one (most pipelines only pass the
domain through), by a small walk over expat events with this library's security policy.

The disks come out of :func:`read_facts` as written, in document order. libvirt's domain parser
does not keep that order or those names, and checkpoint alignment lists the domain's disks in
libvirt's order under libvirt's names, so this module also has libvirt 9.0's rules for both
(:func:`libvirt_disks` for a domain parsed once, :func:`libvirt_disk_order` and
:func:`disk_name_index` for the orderings built on them):

* ``virDomainDefParseXML`` (src/conf/domain_conf.c) inserts each parsed ``<disk>`` with
  ``virDomainDiskInsert``, which puts it before the first disk *on the same bus* whose
  ``virDiskNameToIndex`` (src/util/virutil.c) is greater, else right after the last disk on that
  bus, else at the end. The bus and name it compares are the ones *as written*: a disk without
  ``bus`` is on bus "none" there, and ``ioemu:vda`` has no index (-1);
* only afterwards ``virDomainDiskDefPostParse`` (src/conf/domain_postparse.c) strips one leading
  ``ioemu:`` from the target and gives a disk without ``bus`` its default (floppy: fdc; else by
  the target's prefix, hd: ide, sd: scsi, vd: virtio, xvd: xen, ubd: uml; anything else: ide).
"""

from __future__ import annotations

from typing import Any, Iterable, NamedTuple

from .safe_expat import new_expat_parser

__all__ = ["RawDisk", "RawFacts", "read_facts", "disk_name_index", "default_disk_bus", "libvirt_disk_order", "libvirt_disks"]


class RawDisk(NamedTuple):
    """One ``<devices><disk>`` with a target: what disk alignment needs. ``bus`` is the target's
    ``bus`` attribute (None when absent): as written by :func:`read_facts`, libvirt's after
    :func:`libvirt_disks`."""

    target: str
    source: str | None
    readonly: bool
    device: str
    storage: str
    protocol: str | None
    bus: str | None = None
    snapshot: str | None = None  # the disk's ``snapshot`` attribute (its default snapshot mode)


class RawFacts(NamedTuple):
    type: str | None
    name: str | None
    uuid: str | None
    disks: tuple[RawDisk, ...]


def read_facts(xml: str) -> RawFacts:
    """Parse the domain text once for type, name, uuid and disks."""
    parser = new_expat_parser()
    stack: list[str] = []
    texts: dict[str, list[str]] = {"name": [], "uuid": []}
    dtype: list[str | None] = [None]
    disks: list[RawDisk] = []
    current: dict[str, Any] = {}

    def start(tag: str, attrs: dict[str, str]) -> None:
        depth = len(stack)
        stack.append(tag)
        if depth == 0:
            dtype[0] = attrs.get("type")
        elif depth == 2 and tag == "disk" and stack[1] == "devices":
            current.clear()
            current.update(
                device=attrs.get("device", "disk"),
                storage=attrs.get("type", "file"),
                source=None,
                protocol=None,
                target=None,
                readonly=False,
                snapshot=attrs.get("snapshot"),
            )
        elif depth == 3 and stack[1] == "devices" and stack[2] == "disk":
            if tag == "target":
                if "bus" not in current:  # libvirt reads the first <target> (XPath ./target)
                    current["target"] = attrs.get("dev")
                    current["bus"] = attrs.get("bus")
            elif tag == "source":
                current["source"] = attrs.get("file") or attrs.get("dev") or attrs.get("dir") or attrs.get("name")
                current["protocol"] = attrs.get("protocol")
            elif tag == "readonly":
                current["readonly"] = True

    def end(tag: str) -> None:
        depth = len(stack) - 1
        stack.pop()
        if depth == 2 and tag == "disk" and stack[1] == "devices" and current.get("target"):
            disks.append(
                RawDisk(
                    str(current["target"]),
                    current["source"] or None,
                    bool(current["readonly"]),
                    str(current["device"]),
                    str(current["storage"]),
                    current["protocol"],
                    current.get("bus"),
                    current.get("snapshot"),
                )
            )

    def chars(data: str) -> None:
        if len(stack) == 2 and stack[1] in texts:
            texts[stack[1]].append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.Parse(xml.encode("utf-8"), True)
    return RawFacts(dtype[0], "".join(texts["name"]) or None, "".join(texts["uuid"]) or None, tuple(disks))


_DRIVE_PREFIXES = ("fd", "hd", "vd", "sd", "xvd", "ubd")
_BUS_BY_PREFIX = (("hd", "ide"), ("sd", "scsi"), ("vd", "virtio"), ("xvd", "xen"), ("ubd", "uml"))
_DIGITS = frozenset("0123456789")


def _is_lower(ch: str) -> bool:
    return "a" <= ch <= "z"  # gnulib's c_islower: ASCII only, whatever the locale


def disk_name_index(name: str) -> int:
    """libvirt's ``virDiskNameToIndex`` (``virDiskNameParse``, src/util/virutil.c): ``vda`` 0,
    ``sdz`` 25, ``hdaa`` 26, trailing digits ignored (``vda1`` 0), -1 for a name that is not one of
    the prefixes ``fd hd vd sd xvd ubd`` followed by lowercase letters and digits only.

    libvirt computes in a C ``int`` without an overflow check, so a long name wraps around as it
    does there (``vdgaaaaaaa`` is 709368790, ``vdzzzzzzz`` negative): the ordering must agree
    with libvirt's for every name libvirt accepts, and libvirt accepts the ones whose wrapped
    index is not negative."""
    for prefix in _DRIVE_PREFIXES:
        if name.startswith(prefix):
            rest = name[len(prefix):]
            break
    else:
        return -1
    if not rest or not _is_lower(rest[0]):
        return -1
    idx = 0
    i = 0
    while i < len(rest) and _is_lower(rest[i]):
        idx = ((idx + (1 if i else 0)) * 26 + ord(rest[i]) - 97) & 0xFFFFFFFF
        i += 1
    if not _DIGITS.issuperset(rest[i:]):
        return -1
    return idx - 0x100000000 if idx & 0x80000000 else idx


def default_disk_bus(device: str, target: str) -> str:
    """The bus ``virDomainDiskDefPostParse`` gives a disk without ``bus`` (``target`` already
    without ``ioemu:``)."""
    if device == "floppy":
        return "fdc"
    for prefix, bus in _BUS_BY_PREFIX:
        if target.startswith(prefix):
            return bus
    return "ide"


def libvirt_disk_order(keys: Iterable[tuple[str | None, int]]) -> list[int]:
    """The positions of disks given as ``(bus, disk_name_index(target))`` in the order libvirt's
    ``virDomainDiskInsert`` leaves them when they are inserted one after the other.

    That insertion keeps the disks of one bus together (a bus seen for the first time goes to the
    end) and each bus's disks ordered by index, a disk after those with an equal index. So the
    result is a stable sort by (rank of the bus's first appearance, index): the same order as
    the C loop, in n log n rather than its n^2 (a domain may list many disks);
    tests/test_align_libvirt.py checks it against a transcription of the loop."""
    rank: dict[str | None, int] = {}
    decorated = []
    for position, (bus, index) in enumerate(keys):
        decorated.append((rank.setdefault(bus, len(rank)), index, position))
    decorated.sort()
    return [position for _, _, position in decorated]


def libvirt_disks(disks: Iterable[RawDisk]) -> tuple[RawDisk, ...]:
    """The disks of a domain (as :func:`read_facts` returns them) as libvirt's parser leaves that
    domain: ordered by ``virDomainDiskInsert`` on the bus and target *as written*, then post-parsed
    (one leading ``ioemu:`` stripped from the target, a missing bus defaulted)."""
    written = list(disks)
    out = []
    for position in libvirt_disk_order((d.bus, disk_name_index(d.target)) for d in written):
        disk = written[position]
        target = disk.target[6:] if disk.target.startswith("ioemu:") else disk.target
        bus = disk.bus if disk.bus is not None else default_disk_bus(disk.device, target)
        out.append(disk._replace(target=target, bus=bus))
    return tuple(out)
